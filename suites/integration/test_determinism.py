"""Same (scenario, seed, strategy), same Trace, byte for byte; other seeds, other schedules."""

from __future__ import annotations

from dataclasses import replace

import pytest

from harness.runner import run
from harness.scenarios import build
from harness.serialization import canonical_json, to_data


@pytest.mark.parametrize("strategy", ["fifo", "random", "pct"])
def test_same_seed_gives_the_same_trace_twenty_times(strategy: str) -> None:
    first = run("reference", build("multi_tab", 3, 6), strategy=strategy)
    assert first.trace.schedule is not None and first.trace.schedule.steps > 0
    reference_bytes = canonical_json(to_data(first.trace))
    for _ in range(19):
        again = run("reference", build("multi_tab", 3, 6), strategy=strategy)
        assert again.trace_digest == first.trace_digest
        assert canonical_json(to_data(again.trace)) == reference_bytes


def test_a_fault_run_replays_with_the_same_findings() -> None:
    runs = [
        run("reference", build("burst", 1, 6), strategy="random", fault="shared-agent")
        for _ in range(3)
    ]
    assert runs[0].findings
    assert len({r.trace_digest for r in runs}) == 1
    assert runs[0].findings == runs[1].findings == runs[2].findings


@pytest.mark.parametrize("strategy", ["random", "pct"])
def test_different_seeds_give_different_interleavings(strategy: str) -> None:
    scenario = build("burst", 0, 6)
    schedules = set()
    for seed in range(5):
        trace = run("reference", replace(scenario, seed=seed), strategy=strategy).trace
        assert trace.schedule is not None
        schedules.add(trace.schedule.digest)
    assert len(schedules) >= 2
