"""``explore`` and ``shrink_scenario``: the searches over runs, on tiny inputs."""

from __future__ import annotations

from harness.model import CallTool, Scenario
from harness.runner import explore, shrink_scenario
from harness.scenarios import build


def test_explore_stops_at_its_try_bound_when_nothing_fails() -> None:
    seen: list[tuple[str, int]] = []
    found, tried, _ = explore(
        ["golden_path"],
        users=2,
        strategy="fifo",
        budget=1e9,
        max_tries=3,
        on_try=lambda result, n, spent: seen.append((result.scenario, result.seed)),
    )
    assert found is None and tried == 3
    assert seen == [("golden_path", 0), ("golden_path", 1), ("golden_path", 2)]


def test_explore_returns_the_first_failing_schedule() -> None:
    found, tried, _ = explore(
        ["burst"], users=3, strategy="random", budget=1e9, fault="shared-engine", max_tries=5
    )
    assert found is not None and found.findings and tried == 1
    assert "--fault shared-engine" in found.replay


def test_explore_spends_its_budget_by_the_clock_it_is_given() -> None:
    ticks = iter(range(100))
    found, tried, spent = explore(
        ["golden_path"], users=2, strategy="fifo", budget=2.5, clock=lambda: float(next(ticks))
    )
    # Checked before every try but the first: ticks 1 and 2 are inside the budget, 3 is not.
    assert found is None and tried == 3 and spent == 4.0


def _has_echo(scenario: Scenario) -> bool:
    return any(
        isinstance(step, CallTool) and step.name == "echo"
        for plan in scenario.sessions
        for turn in plan.turns
        for step in turn.plan
    )


def test_shrink_keeps_only_what_the_failure_needs() -> None:
    scenario = build("golden_path", 0, 6)
    assert _has_echo(scenario)
    smallest = shrink_scenario(scenario, _has_echo)
    assert _has_echo(smallest)
    assert len(smallest.users) == 1 and len(smallest.sessions) == 1
    (plan,) = smallest.sessions
    assert len(plan.turns) == 1 and len(plan.turns[0].plan) == 1


def test_shrink_tries_other_seeds_when_asked() -> None:
    scenario = build("golden_path", 0, 3)
    calls: list[int] = []

    def fails(candidate: Scenario) -> bool:
        calls.append(candidate.seed)
        return candidate is scenario or candidate.seed == 2

    smallest = shrink_scenario(scenario, fails, reseed=2)
    assert smallest.seed == 2 and 1 in calls


def test_explore_goes_on_past_hazards_unless_strict() -> None:
    # A backend that keeps threads per user accepts an intrusion but lets nothing cross: an
    # ownership hazard, which fails a run (and stops a search) only when strict.
    spec = "suites.integration.hazards.adapter:ThreadDeskTarget"
    found, tried, _ = explore(
        ["intrusion"], users=4, strategy="fifo", budget=1e9, target=spec, max_tries=2
    )
    assert found is None and tried == 2
    found, tried, _ = explore(
        ["intrusion"], users=4, strategy="fifo", budget=1e9, target=spec, max_tries=2, strict=True
    )
    assert found is not None and tried == 1
    assert {f.severity for f in found.findings} == {"hazard"}
