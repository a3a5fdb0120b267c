"""Start the reference WebSocket server as a child process, for tests and benchmarks.

``python -m harness_backend.server --host 127.0.0.1 --port 0`` picks a free port and prints
``listening on ws://HOST:PORT`` once it serves; :func:`local_server` waits for that line (bounded),
yields where it listens and the secret its tokens are signed with, and stops it with SIGTERM.
"""

from __future__ import annotations

import os
import secrets as _secrets
import select
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from harness.errors import TargetError

__all__ = ["local_server"]

_BANNER = "listening on "


@contextmanager
def local_server(
    *,
    secret: str | None = None,
    faults: Sequence[str] = (),
    start_timeout: float = 30.0,
    stop_timeout: float = 10.0,
    cwd: Path | None = None,
) -> Iterator[tuple[str, str]]:
    """Run ``harness_backend.server`` on 127.0.0.1 for the ``with`` block; yield ``(url, secret)``.

    Args:
        secret: the JWT signing secret (>= 32 bytes); a fresh one when omitted.
        faults: ``harness_backend.faults`` names to switch on in the server.
        start_timeout: seconds the server gets to print its address.
        stop_timeout: seconds it gets to exit after SIGTERM before it is killed.

    Raises:
        TargetError: the server did not announce itself in time (its stderr is quoted).

    Example:
        >>> with local_server() as (url, secret):  # doctest: +SKIP
        ...     run(url, build("golden_path", 0, 4))
    """
    secret = secret or _secrets.token_urlsafe(48)
    command = [sys.executable, "-m", "harness_backend.server", "--host", "127.0.0.1", "--port", "0"]
    for fault in faults:
        command += ["--fault", fault]
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env={**os.environ, "BACKEND_JWT_SECRET": secret},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready, _, _ = select.select([process.stdout], [], [], start_timeout)
        line = process.stdout.readline() if ready and process.stdout else ""
        if not line.startswith(_BANNER):
            process.kill()
            _, errors = process.communicate(timeout=stop_timeout)
            raise TargetError(
                f"{' '.join(command[1:])} did not print {_BANNER!r} within "
                f"start_timeout={start_timeout!r}s; first line={line!r}, "
                f"exit={process.returncode}, stderr={errors[-2000:]!r}"
            )
        yield line.removeprefix(_BANNER).strip(), secret
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=stop_timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=stop_timeout)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
