"""How many users one machine holds: Locust's master and workers vs ``harness run`` alone.

``python -m harness.distributed.measure --users 2000 --workers 2`` starts a fresh
``harness_backend.server`` on 127.0.0.1 for each side, runs the same scenario with the same
number of users through ``harness run --target ws://...`` and through a headless Locust master
with ``--workers`` workers (all users spawned at once), and prints one row per side: users
driven, turns completed, findings, the most connections open at one instant (from the Trace),
wall seconds, and the CPU seconds and peak memory of the client processes (``os.wait4``).
Bounded: every process has a deadline and is killed past it; loopback only.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.targets import local_server

__all__ = ["CapacityRow", "harness_run_capacity", "locust_capacity", "main"]

_LOCUSTFILE = Path(__file__).with_name("locustfile.py")


@dataclass(frozen=True, slots=True)
class CapacityRow:
    """One side of the comparison."""

    side: str
    users: int
    turns: int
    completed: int
    findings: int
    connections_held: int
    wall_seconds: float
    client_cpu_seconds: float
    client_peak_mib: float
    findings_by_kind: str = ""

    def line(self) -> str:
        return (
            f"{self.side:<22} users={self.users:<6} turns={self.turns:<6} "
            f"completed={self.completed:<6} findings={self.findings:<4} "
            f"held={self.connections_held:<6} wall={self.wall_seconds:6.1f}s "
            f"cpu={self.client_cpu_seconds:6.1f}s peak={self.client_peak_mib:7.1f}MiB"
            + (f" kinds={self.findings_by_kind}" if self.findings_by_kind else "")
        )


def _held(trace: dict[str, object]) -> int:
    marks: list[tuple[float, int]] = []
    for session in trace.get("sessions", ()):  # type: ignore[attr-defined]
        marks.append((float(session["opened_at"]), 1))
        closed = session.get("closed_at")
        marks.append((float(closed) if closed is not None else float("inf"), -1))
    held = peak = 0
    for _, change in sorted(marks):
        held += change
        peak = max(peak, held)
    return peak


def _wait(process: subprocess.Popen[bytes], deadline: float) -> tuple[int, float, float]:
    """Exit code, CPU seconds and peak MiB of ``process`` (killed past ``deadline``)."""
    # os.wait4, not Popen.wait: it reaps the child and returns its resource usage.
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            process.kill()
            pid, status, usage = os.wait4(process.pid, 0)
            break
        time.sleep(0.1)
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def _row(side: str, report: Path, wall: float, cpu: float, peak: float) -> CapacityRow:
    findings = json.loads((report / "findings.json").read_text("utf-8"))
    trace = json.loads((report / "trace.json").read_text("utf-8"))
    run = findings.get("runs", [findings])[0] if "runs" in findings else findings
    stats = run["stats"]
    return CapacityRow(
        side=side,
        users=int(stats["users"]),
        turns=int(stats["turns"]),
        completed=int(stats["statuses"].get("completed", 0)),
        findings=len(run["findings"]),
        connections_held=_held(trace),
        wall_seconds=wall,
        client_cpu_seconds=cpu,
        client_peak_mib=peak,
        findings_by_kind=",".join(f"{k}:{v}" for k, v in stats["findings_by_kind"].items()),
    )


def harness_run_capacity(
    users: int, scenario: str, *, seed: int = 0, turn_timeout: float = 30.0, limit: float = 300.0
) -> CapacityRow:
    """``harness run --target ws://...`` alone, one process, against a fresh server."""
    with local_server() as (url, secret), tempfile.TemporaryDirectory() as directory:
        report = Path(directory)
        command = [
            sys.executable,
            "-c",
            "import sys; from harness.cli import main; sys.exit(main())",
            "run",
            "--target",
            url,
            "--scenario",
            scenario,
            "--users",
            str(users),
            "--seed",
            str(seed),
            "--report",
            str(report),
            "--json",
        ]
        began = time.monotonic()
        process = subprocess.Popen(
            command,
            env={**os.environ, "HARNESS_JWT_SECRET": secret},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _, cpu, peak = _wait(process, began + limit)
        return _row("harness run", report, time.monotonic() - began, cpu, peak)


def locust_capacity(
    users: int,
    scenario: str,
    *,
    workers: int = 2,
    seed: int = 0,
    block: int = 50,
    run_time: float = 60.0,
    turn_timeout: float = 30.0,
    spawn_rate: int | None = None,
) -> CapacityRow:
    """A headless Locust master and ``workers`` workers, all users spawned at once."""
    with local_server() as (url, secret), tempfile.TemporaryDirectory() as directory:
        report = Path(directory) / "report"
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        environment = {**os.environ, "HARNESS_JWT_SECRET": secret}
        locust = [sys.executable, "-m", "locust", "-f", str(_LOCUSTFILE)]
        began = time.monotonic()
        master = subprocess.Popen(
            [
                *locust,
                "--master",
                "--headless",
                "--only-summary",
                f"--host={url}",
                f"-u={users}",
                f"-r={spawn_rate or users}",
                f"-t={run_time:.0f}s",
                f"--expect-workers={workers}",
                "--master-bind-host=127.0.0.1",
                f"--master-bind-port={port}",
                f"--harness-scenario={scenario}",
                f"--harness-seed={seed}",
                f"--harness-block={block}",
                f"--harness-turn-timeout={turn_timeout}",
                f"--harness-report={report}",
            ],
            cwd=directory,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        children = [
            subprocess.Popen(
                [*locust, "--worker", "--master-host=127.0.0.1", f"--master-port={port}"],
                cwd=directory,
                env=environment,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(workers)
        ]
        deadline = began + run_time + turn_timeout + 120
        totals = [_wait(process, deadline) for process in (master, *children)]
        wall = time.monotonic() - began
        cpu = sum(total[1] for total in totals)
        peak = sum(total[2] for total in totals)
        rate = f" -r {spawn_rate}" if spawn_rate else ""
        return _row(f"locust master+{workers}{rate}", report, wall, cpu, peak)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.distributed.measure")
    parser.add_argument("--users", type=int, nargs="+", default=[1000])
    parser.add_argument("--scenario", default="burst")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--block", type=int, default=50)
    parser.add_argument("--run-time", type=float, default=60.0)
    parser.add_argument("--spawn-rate", type=int, default=None, help="default: all at once")
    parser.add_argument("--side", choices=("both", "harness", "locust"), default="both")
    args = parser.parse_args(argv)
    for users in args.users:
        if args.side in ("both", "harness"):
            print(harness_run_capacity(users, args.scenario).line(), flush=True)
        if args.side in ("both", "locust"):
            row = locust_capacity(
                users,
                args.scenario,
                workers=args.workers,
                block=args.block,
                run_time=args.run_time,
                spawn_rate=args.spawn_rate,
            )
            print(row.line(), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
