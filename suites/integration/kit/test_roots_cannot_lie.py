"""Roots that cannot lie: how an adapter shapes ``roots()`` never makes a correct backend fail.

The adapter (:class:`~suites.integration.kit.kit_targets.FreshRootsTarget`) is correct and
deliberately awkward: its ``roots()`` returns a fresh dict every call, with fresh containers
inside, the same context under two keys, and the user's workspace (one object shared by that
user's own tabs and turns). None of that may produce a finding on :mod:`tiny_factory`, over
every built-in scenario and ten seeds. The harness once compared ``id()``s of such fresh
containers after they had died and their ids were reused by another user's: a ``shared-state``
finding about an object that never existed.
"""

from __future__ import annotations

from typing import Any

import pytest

from harness.runner import run
from harness.scenarios import build, scenario_names
from suites.integration.kit.kit_targets import FreshRootsTarget, SharedAgentTarget


@pytest.mark.parametrize("seed", range(10))
def test_fresh_containers_in_roots_give_no_finding_on_a_correct_backend(seed: int) -> None:
    for name in scenario_names():
        result = run(FreshRootsTarget(), build(name, seed, 6), strategy="random")
        found: list[Any] = [(f.kind, f.summary, f.evidence[:2]) for f in result.findings]
        assert found == [], (name, seed, found)
        # Not clean by blindness: walks and checkpoints looked at the roots while turns ran.
        assert result.trace.observed["walks"] > 0, (name, seed)


def test_the_same_roots_do_catch_a_shared_agent() -> None:
    # The same roots are not blind: with the classic bug, it is reported.
    result = run(SharedAgentTarget(), build("burst", 0, 6), strategy="random")
    kinds = {f.kind for f in result.findings}
    assert {"shared-state", "context-mismatch"} <= kinds, kinds
