"""The staging server of the staging_e2e tier.

With ``--staging-url`` (or ``HARNESS_STAGING_URL``) the tests talk to that deployment; valid
tokens then need its signing secret in ``HARNESS_JWT_SECRET`` (tests that need one skip, saying
so, when it is missing). Without a URL the session starts ``python -m backend.server`` on
127.0.0.1 with a fresh secret, hands the same secret to the harness's WebSocket adapter through
``HARNESS_JWT_SECRET``, and stops the server with SIGTERM at the end.
"""

from __future__ import annotations

import os
import secrets
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.pytest_plugin import HarnessSettings, HarnessTarget
from harness.testing import StagingServer as Staging

ROOT = Path(__file__).resolve().parents[2]
#: Seconds the local server gets to print its address, and to exit after SIGTERM.
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


def _start_local_server(secret: str) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "BACKEND_JWT_SECRET": secret}
    process = subprocess.Popen(
        [sys.executable, "-m", "backend.server", "--host", "127.0.0.1", "--port", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    if process.stdout is None:
        raise RuntimeError("backend.server started without a stdout pipe")
    ready, _, _ = select.select([process.stdout], [], [], START_TIMEOUT)
    line = process.stdout.readline() if ready else ""
    if not line.startswith("listening on "):
        process.kill()
        _, errors = process.communicate(timeout=STOP_TIMEOUT)
        raise RuntimeError(
            f"python -m backend.server did not print 'listening on ws://...' within "
            f"{START_TIMEOUT:g}s; first line={line!r}, exit={process.returncode}, "
            f"stderr={errors[-2000:]!r}"
        )
    return process, line.removeprefix("listening on ").strip()


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()


@pytest.fixture(scope="session")
def staging(pytestconfig: pytest.Config) -> Iterator[Staging]:
    """The staging server: the given URL, or a local ``backend.server`` for the session."""
    from harness.pytest_plugin import settings_from_config

    url = settings_from_config(pytestconfig).staging_url
    if url is not None:
        yield Staging(url=url, secret=os.environ.get("HARNESS_JWT_SECRET") or None, local=False)
        return
    secret = secrets.token_urlsafe(48)
    process, url = _start_local_server(secret)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("HARNESS_JWT_SECRET", secret)
            patch.delenv("HARNESS_TOKENS_FILE", raising=False)
            yield Staging(url=url, secret=secret, local=True)
    finally:
        _stop(process)


@pytest.fixture
def staging_secret(staging: Staging) -> str:
    """The secret valid tokens are signed with; skips only for an external URL without one."""
    if staging.secret is None:
        pytest.skip(
            f"--staging-url={staging.url!r} is external and HARNESS_JWT_SECRET is not set: "
            "valid tokens for it cannot be minted. Set HARNESS_JWT_SECRET to its signing secret."
        )
    return staging.secret


@pytest.fixture
def harness_target(
    staging: Staging, staging_secret: str, harness_settings: HarnessSettings
) -> HarnessTarget:
    """Every ``run_scenario`` of this tier goes to the staging server over WebSockets."""
    return HarnessTarget(staging.url)
