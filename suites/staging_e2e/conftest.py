"""The staging server of the staging_e2e tier.

With ``--staging-url`` (or ``HARNESS_STAGING_URL``) the tests talk to that deployment; valid
tokens then need its signing secret in ``HARNESS_JWT_SECRET`` (tests that need one skip, saying
so, when it is missing). Without a URL the session starts ``python -m harness_backend.server`` on
127.0.0.1 with a fresh secret, hands the same secret to the harness's WebSocket adapter through
``HARNESS_JWT_SECRET``, and stops the server with SIGTERM at the end.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from harness.pytest_plugin import HarnessSettings, HarnessTarget
from harness.testing import StagingServer as Staging
from harness.testing import local_server


@pytest.fixture(scope="session")
def staging(pytestconfig: pytest.Config) -> Iterator[Staging]:
    """The staging server: the given URL, or a local ``harness_backend.server`` for the session."""
    from harness.pytest_plugin import settings_from_config

    url = settings_from_config(pytestconfig).staging_url
    if url is not None:
        yield Staging(url=url, secret=os.environ.get("HARNESS_JWT_SECRET") or None, local=False)
        return
    with local_server() as (url, secret), pytest.MonkeyPatch.context() as patch:
        patch.setenv("HARNESS_JWT_SECRET", secret)
        patch.delenv("HARNESS_TOKENS_FILE", raising=False)
        yield Staging(url=url, secret=secret, local=True)


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
