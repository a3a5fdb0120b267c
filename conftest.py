"""Project-wide test configuration: tier markers by directory, the ``--run-slow`` switch, and a
fresh memory of simulated users for every test.

Every test under ``suites/<tier>/`` carries exactly that tier's marker, so ``pytest -m unit``,
``-m integration`` and ``-m staging_e2e`` select by directory. A test that marks itself with a
different tier is an error, not a silent double membership.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.observe.tokens import forget_simulated

TIERS = ("unit", "integration", "staging_e2e")
ROOT = Path(__file__).parent

# Bytecode caches on, whatever the shell says: the suite starts dozens of Python processes
# (xdist workers, servers, CLI runs in fresh processes, Locust), and with PYTHONDONTWRITEBYTECODE
# set each compiles every module it imports again and pytest rewrites every test module's asserts
# again on every run (collection alone: 5.1 s -> 2.3 s). Set here, before the workers start, so
# they and every child inherit it. The caches live in __pycache__ (ignored by git).
sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-slow",
        action="store_true",
        default=False,
        help="also run tests marked slow (long scenarios, many seeds)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    run_slow = config.getoption("--run-slow")
    skip_slow = pytest.mark.skip(reason="slow: run with --run-slow")
    for item in items:
        path = Path(str(item.path))
        try:
            parts = path.relative_to(ROOT / "suites").parts
        except ValueError:
            continue
        tier = parts[0] if parts and parts[0] in TIERS else None
        if tier is None:
            continue
        declared = {m.name for m in item.iter_markers() if m.name in TIERS}
        if declared - {tier}:
            raise pytest.UsageError(
                f"{item.nodeid}: marked {sorted(declared)} but lives in suites/{tier}/. "
                "A test carries exactly one tier marker: move it or drop the marker."
            )
        item.add_marker(getattr(pytest.mark, tier))
        if not run_slow and item.get_closest_marker("slow") is not None:
            item.add_marker(skip_slow)


@pytest.fixture(autouse=True)
def _fresh_process_memory() -> Iterator[None]:
    """Each test starts with no users of earlier runs remembered, as in a fresh process.

    The runner remembers every user it simulates so that what an earlier run left behind is
    foreign data to a later one (harness.observe.tokens); a test must not depend on which
    tests ran before it in the same worker.
    """
    forget_simulated()
    yield
