"""What a run keeps stays bounded when a lot is shared: checkpoints store what is new."""

from __future__ import annotations

import re

import pytest

from harness.runner import run
from harness.scenarios import build

pytestmark = pytest.mark.integration


def test_checkpoints_store_each_value_once_per_owner_and_state() -> None:
    result = run("reference", build("golden_path", 0, 12), strategy="random", fault="shared-engine")
    stored = [
        (walk.owner, found.path, found.value, walk.active_runs)
        for checkpoint in result.trace.checkpoints
        for walk in checkpoint.walks
        for found in walk.values
    ]
    assert stored, "the walks found nothing: the test would prove nothing"
    assert len(stored) == len(set(stored))
    # Stored once is enough for the detectors: the objects channel still reports the leak.
    assert any(f.kind == "foreign-data" and "checkpoint" in f.evidence[0] for f in result.findings)
    assert {"shared-state", "context-mismatch"} <= {f.kind for f in result.findings}


def test_a_code_site_is_stored_with_the_first_value_that_names_it_only() -> None:
    result = run("reference", build("burst", 0, 12), strategy="random", fault="shared-engine")
    sites = [
        found.site
        for checkpoint in result.trace.checkpoints
        for walk in checkpoint.walks
        for found in walk.values
        if found.site
    ]
    assert sites and len(sites) == len(set(sites))
    # Once is enough: the groups still name the class and the line that sets the attribute.
    leaks = [f for f in result.findings if f.kind == "foreign-data" and f.sites]
    assert any(" set at harness_backend/" in site for f in leaks for site in f.sites)


def test_a_value_that_only_moved_in_a_bounded_history_is_not_stored_again() -> None:
    # 120 turns through one shared engine: its history of 100 finished runs drops the oldest,
    # and every record left moves one place down at each turn that ends.
    result = run(
        "reference", build("limit_pressure", 0, 30), strategy="random", fault="shared-engine"
    )
    stored = [
        (walk.owner, re.sub(r"\[\d+\]", "[#]", found.path), found.value, walk.active_runs)
        for checkpoint in result.trace.checkpoints
        for walk in checkpoint.walks
        for found in walk.values
    ]
    assert stored and len(stored) == len(set(stored))
    assert "foreign-data" in {f.kind for f in result.findings}
