"""Retries and resumes (``Turn.retry``) against the reference backend.

The correct backend refuses an attempt while another attempt of the run is in flight and runs
it again once that ended: clean under every strategy. The ``run-keyed-engines`` fault keys
engines by user and run id: the scenarios that repeat a run id catch it as ``limit-breach``,
and the scenarios that never repeat one do not see it.
"""

from __future__ import annotations

import pytest

from harness.model import RunResult
from harness.runner import run
from harness.scenarios import build, scenario_names

USERS = 6
STRATEGIES = ("fifo", "random", "pct")
RETRYING = ("resume", "retry")
FAULT = "run-keyed-engines"


def _run(scenario: str, strategy: str, fault: str | None, seed: int = 0) -> RunResult:
    return run("reference", build(scenario, seed, USERS), strategy=strategy, fault=fault)


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("scenario", RETRYING)
def test_the_correct_backend_is_clean_and_refuses_attempts_in_flight(
    scenario: str, strategy: str
) -> None:
    for seed in (0, 1):
        result = _run(scenario, strategy, None, seed)
        assert result.findings == (), [(f.kind, f.summary) for f in result.findings]
        statuses = result.stats["statuses"]
        # Retries really ran and really were refused: neither half of the contract is idle.
        retried = [r for r in result.trace.turns if r.turn.retry]
        assert {r.outcome.status for r in retried} >= {"completed", "rejected"}, statuses
        assert result.trace.observed["walks"] > 0


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("scenario", RETRYING)
def test_run_keyed_engines_are_caught_as_a_limit_breach(scenario: str, strategy: str) -> None:
    result = _run(scenario, strategy, FAULT)
    breaches = [f for f in result.findings if f.kind == "limit-breach"]
    assert breaches, [(f.kind, f.summary) for f in result.findings]
    assert all(f"--fault {FAULT}" in f.replay for f in breaches)
    # The evidence names a run id running twice at once: the overwritten engine's and its own.
    assert any(
        any(line.count(record.turn.run_id) >= 2 for line in f.evidence)
        for f in breaches
        for record in result.trace.turns
        if record.turn.retry
    ), [f.evidence for f in breaches]


@pytest.mark.parametrize("scenario", sorted(set(scenario_names()) - set(RETRYING)))
def test_scenarios_that_never_repeat_a_run_id_do_not_see_the_fault(scenario: str) -> None:
    result = _run(scenario, "random", FAULT)
    assert result.findings == (), [(f.kind, f.summary) for f in result.findings]


def test_a_retry_replays_to_the_same_trace() -> None:
    first = _run("retry", "pct", FAULT, seed=3)
    again = _run("retry", "pct", FAULT, seed=3)
    assert first.trace_digest == again.trace_digest
    assert [f.kind for f in first.findings] == [f.kind for f in again.findings]
