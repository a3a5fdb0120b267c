"""Black-box detection: the faults a client can see are caught over real WebSockets.

These tests start their own ``harness_backend.server`` with a fault switched on (a staging
deployment
cannot be asked to misbehave), so they run the same with or without ``--staging-url``. Over the
wire there are no live objects: only events, outcomes and echo results speak.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import partial

import pytest

from harness.errors import TargetAuthError
from harness.model import RunResult
from harness.runner import run
from harness.scenarios import build
from harness.targets.websocket import WebSocketTarget
from harness.testing import local_server
from suites.overlap import Overlap, selected

USERS = 20

#: fault -> (scenario, the kind a black box must report)
VISIBLE = {
    "null-notifier": ("golden_path", "event-missing"),
    "last-writer-routing": ("burst", "event-misrouted"),
    "shared-agent": ("burst", "context-mismatch"),
    "key-collision": ("limit_pressure", "limit-breach"),
}


#: One run of this module: (scenario name, result) for each scenario it ran, in order.
Runs = tuple[tuple[str, RunResult], ...]
FAULT_TEST = "test_fault_is_caught_through_the_wire"
CLEAN_TEST = "test_the_correct_server_is_clean_through_the_same_checks"
CLEAN = "correct server"


def run_with_fault(fault: str) -> Runs:
    scenario_name, _ = VISIBLE[fault]
    with local_server(faults=[fault]) as (url, secret):
        target = WebSocketTarget(url, secret=secret, limits={"engines_per_user": 2})
        # A misrouted turn never gets its terminal event on the caller's tab: it ends at the
        # turn timeout, which need not be the default 30 s for a 20-user loopback run. A turn
        # that merely ran late under load would be a hang finding, which these checks do not
        # forbid, so 1 s is enough: the longest plan of these scenarios is about 0.6 s of
        # planned work (the correct server keeps the default in the test below).
        scenario = replace(build(scenario_name, 0, USERS, salt=fault), turn_timeout=1.0)
        return ((scenario_name, run(target, scenario, target_spec=url)),)


def run_on_the_correct_server() -> Runs:
    results: list[tuple[str, RunResult]] = []
    with local_server() as (url, secret):
        for scenario_name in sorted({name for name, _ in VISIBLE.values()}):
            target = WebSocketTarget(url, secret=secret, limits={"engines_per_user": 2})
            result = run(target, build(scenario_name, 0, USERS, salt="clean"), target_spec=url)
            results.append((scenario_name, result))
    return tuple(results)


@pytest.fixture(scope="module")
def server_runs() -> Iterator[Overlap[str, Runs]]:
    """The runs of the fault tests and of the correct server's test, started together.

    Each starts its own server and its users are its own (the salt differs), so the runs meet
    nowhere; each mostly waits on planned work and, under a fault, on turn time-outs.
    """
    with Overlap[str, Runs]() as runs:
        yield runs


def runs_of_this_test(request: pytest.FixtureRequest, runs: Overlap[str, Runs], key: str) -> Runs:
    """``key``'s runs, started with those of every selected test of this module (the first
    test waits for them all inside its own call: see ``Overlap.wait``)."""
    faults = [str(item.callspec.params["fault"]) for item in selected(request, FAULT_TEST)]
    jobs: list[tuple[str, Callable[[], Runs]]] = [
        (fault, partial(run_with_fault, fault)) for fault in faults
    ]
    if selected(request, CLEAN_TEST):
        jobs.append((CLEAN, run_on_the_correct_server))
    runs.start(jobs)
    runs.wait()
    return runs.result(key)


@pytest.mark.parametrize("fault", sorted(VISIBLE))
def test_fault_is_caught_through_the_wire(
    request: pytest.FixtureRequest, server_runs: Overlap[str, Runs], fault: str
) -> None:
    _, kind = VISIBLE[fault]
    ((_, result),) = runs_of_this_test(request, server_runs, fault)
    kinds = {finding.kind for finding in result.findings}
    assert kind in kinds, (fault, kinds)
    assert any("black-box" in note for note in result.notes)
    assert "shared-state" not in kinds and "retention" not in kinds  # needs live roots


def test_the_correct_server_is_clean_through_the_same_checks(
    request: pytest.FixtureRequest, server_runs: Overlap[str, Runs]
) -> None:
    for scenario_name, result in runs_of_this_test(request, server_runs, CLEAN):
        assert result.findings == (), (scenario_name, result.findings[:3])
        assert result.stats["statuses"].get("completed", 0) > 0


def test_a_wrong_secret_stops_the_run_with_a_clear_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A refused token is the harness's configuration, not the server's crash: exit 2, once."""
    with local_server() as (url, secret):
        target = WebSocketTarget(url, secret=secret[::-1], limits={"engines_per_user": 2})
        with pytest.raises(TargetAuthError) as refused:
            run(target, build("golden_path", 0, 4, salt="refused"), target_spec=url)
    message = str(refused.value)
    assert url in message and "4401" in message
    assert "HARNESS_JWT_SECRET" in message
    # Every pending turn's failure was consumed: asyncio logged nothing about lost futures.
    assert "never retrieved" not in caplog.text
