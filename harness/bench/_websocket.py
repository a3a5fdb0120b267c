"""Turns per second and connections held over real WebSockets on loopback.

Starts ``python -m harness_backend.server --host 127.0.0.1 --port 0`` with a fresh JWT secret,
runs the bench scenario against ``ws://127.0.0.1:PORT`` (every detector that applies to a black
box),
then stops the server with SIGTERM. Bounded: the server must announce itself within
``start_timeout`` seconds and the run is one burst of ``users`` turns.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError

__all__ = ["WebSocketRun", "websocket_throughput"]

_ROOT = Path(__file__).resolve().parents[2]
_BANNER = "listening on "


@dataclass(frozen=True, slots=True)
class WebSocketRun:
    """One burst over loopback WebSockets."""

    users: int
    turns: int
    completed: int
    connections_held: int
    findings: int
    wall_seconds: float
    command: str

    @property
    def turns_per_second(self) -> float:
        """User-turns per wall-clock second (real time: the scenario's pauses are real)."""
        return self.turns / self.wall_seconds if self.wall_seconds > 0 else 0.0


def _start_server(secret: str, timeout: float) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "BACKEND_JWT_SECRET": secret}
    server = subprocess.Popen(
        [sys.executable, "-m", "harness_backend.server", "--host", "127.0.0.1", "--port", "0"],
        cwd=_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    found: list[str] = []
    stream = server.stdout

    def read() -> None:
        for line in stream or ():
            if _BANNER in line:
                found.append(line.split(_BANNER, 1)[1].strip())
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    if not found:
        _stop_server(server)
        raise HarnessError(
            f"harness_backend.server did not print {_BANNER!r} within timeout={timeout!r}s; "
            "run 'python -m harness_backend.server --port 0' with BACKEND_JWT_SECRET set to see why"
        )
    return server, found[0]


def _stop_server(server: subprocess.Popen[str]) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    if server.stdout is not None:
        server.stdout.close()


def _held(sessions: object) -> int:
    """Most sessions open at one instant (from their open and close times)."""
    marks: list[tuple[float, int]] = []
    for record in sessions:  # type: ignore[attr-defined]
        marks.append((record.opened_at, 1))
        marks.append((record.closed_at if record.closed_at is not None else float("inf"), -1))
    held = peak = 0
    for _, change in sorted(marks):
        held += change
        peak = max(peak, held)
    return peak


def websocket_throughput(
    users: int = 200, *, seed: int = 0, start_timeout: float = 20.0
) -> WebSocketRun:
    """Run one burst of ``users`` users against a local ``harness_backend.server``, timed."""
    from harness.bench._measures import BENCH_SCENARIO
    from harness.runner import run
    from harness.scenarios import build

    secret = secrets.token_hex(32)
    server, url = _start_server(secret, start_timeout)
    previous = os.environ.get("HARNESS_JWT_SECRET")
    os.environ["HARNESS_JWT_SECRET"] = secret
    try:
        built = build(BENCH_SCENARIO, seed, users, salt=secrets.token_hex(4))
        began = time.perf_counter()
        result = run(url, built, strategy="random")
        wall = time.perf_counter() - began
    finally:
        if previous is None:
            os.environ.pop("HARNESS_JWT_SECRET", None)
        else:
            os.environ["HARNESS_JWT_SECRET"] = previous
        _stop_server(server)
    statuses = result.stats["statuses"]
    return WebSocketRun(
        users=users,
        turns=int(result.stats["turns"]),
        completed=int(statuses.get("completed", 0)),
        connections_held=_held(result.trace.sessions),
        findings=len(result.findings),
        wall_seconds=wall,
        command=f"harness run --target ws://127.0.0.1:PORT --scenario {BENCH_SCENARIO} "
        f"--users {users} --seed {seed}",
    )
