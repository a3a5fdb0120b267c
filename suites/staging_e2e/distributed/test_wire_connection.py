"""The blocking client over real WebSockets, outside Locust (real threads instead of greenlets).

The same code runs under gevent inside a Locust worker (test_locust_run.py); here it drives a
whole block of users against the server and the master's assembly judges them.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from typing import TypeVar

import pytest

from harness.distributed import (
    Population,
    PopulationSpec,
    UserJournal,
    UserSlot,
    WireConnection,
    WorkerReport,
    assemble,
    drive_user,
)
from harness.errors import TargetError
from harness.model import RunResult, Turn, TurnOutcome
from harness.targets.websocket import WebSocketTarget
from harness.testing import StagingServer, local_server
from suites.overlap import Overlap, selected


def connector(
    target: WebSocketTarget, steps: itertools.count[int]
) -> Callable[[UserSlot, str], WireConnection]:
    def connect(slot: UserSlot, connection_id: str) -> WireConnection:
        return WireConnection(target, slot.user, connection_id, next_step=steps.__next__)

    return connect


def drive_block(url: str, secret: str, spec: PopulationSpec, worker: int) -> WorkerReport:
    """One worker's block, its users at once (each on its own thread, as Locust runs them)."""
    population = Population(spec)
    target = WebSocketTarget(url, secret=secret)
    steps = itertools.count()
    journals = [UserJournal(population.slot(worker, n), steps.__next__) for n in range(spec.block)]
    threads = [
        threading.Thread(
            target=drive_user,
            args=(journal, connector(target, steps)),
            kwargs={"settle": 0.1},
            daemon=True,
        )
        for journal in journals
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return WorkerReport(worker=worker, users=tuple(j.record() for j in journals))


@dataclass(frozen=True, slots=True)
class RefusedRun:
    """What a connection with a refused token ended with."""

    refused: bool
    outcome: TurnOutcome


@dataclass(frozen=True, slots=True)
class TwoAttempts:
    """The outcomes of two attempts of one run id sent in one burst."""

    first: TurnOutcome
    again: TurnOutcome


def clean_blocks_run(url: str, secret: str) -> RunResult:
    spec = PopulationSpec("golden_path", seed=0, salt="wire-clean", block=3, turn_timeout=10.0)
    # Both blocks at once, as two workers would (one after the other only doubled the wait).
    with ThreadPoolExecutor(max_workers=2) as workers:
        reports = list(workers.map(lambda w: drive_block(url, secret, spec, w), (0, 1)))
    return assemble(Population(spec), reports, target=url, replay="r")


def misrouting_run() -> RunResult:
    # A misrouted turn waits for its turn timeout; 1 s is plenty on loopback (a late turn
    # would only add a hang finding, which this test does not forbid).
    spec = PopulationSpec("burst", seed=0, salt="wire-fault", block=4, turn_timeout=1.0)
    with local_server(faults=["last-writer-routing"]) as (url, secret):
        population = Population(spec)
        target = WebSocketTarget(url, secret=secret)
        steps = itertools.count()
        journals = [
            UserJournal(population.slot(w, n), steps.__next__) for w in (0, 1) for n in range(4)
        ]
        # Both blocks at once, as two workers would: each user on its own thread.
        threads = [
            threading.Thread(target=drive_user, args=(j, connector(target, steps)), daemon=True)
            for j in journals
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    reports = [
        WorkerReport(worker=w, users=tuple(j.record() for j in journals if j.slot.worker == w))
        for w in (0, 1)
    ]
    return assemble(population, reports, target=url, replay="r")


def refused_run() -> RefusedRun:
    with local_server() as (url, secret):
        target = WebSocketTarget(url, secret=secret[::-1])
        slot = Population(PopulationSpec("golden_path", seed=0, salt="refused")).slot(0, 0)
        connection = WireConnection(target, slot.user, "c1", next_step=itertools.count().__next__)
        turn: Turn = slot.plans[0].turns[0]
        try:
            (outcome,) = connection.run_turns([turn], 10.0)
        finally:
            connection.close()
    return RefusedRun(connection.refused, outcome)


def attempts_run() -> TwoAttempts:
    # A retried run (Turn.retry) sent twice in one burst: the server runs one and refuses the
    # other (run ids are single-use over the wire); neither attempt waits for a timeout. Frames
    # name the run id only, so which attempt gets the refusal depends on what arrives first.
    with local_server() as (url, secret):
        target = WebSocketTarget(url, secret=secret)
        slot = Population(PopulationSpec("golden_path", seed=0, salt="attempts")).slot(0, 0)
        connection = WireConnection(target, slot.user, "c1", next_step=itertools.count().__next__)
        turn: Turn = slot.plans[0].turns[0]
        try:
            first, again = connection.run_turns([turn, replace(turn, retry=True)], 20.0)
        finally:
            connection.close()
    return TwoAttempts(first, again)


#: The runs of tests that start a server of their own: each mostly waits (the misrouted turns
#: on their time-out), and nothing connects them, so they overlap with each other and with the
#: clean blocks on the staging server, which the test of those starts itself (only it has the
#: staging fixtures).
OWN_SERVER: dict[str, Callable[[], object]] = {
    "test_a_misrouting_server_is_caught_across_blocks": misrouting_run,
    "test_a_refused_token_closes_the_connection_and_says_so": refused_run,
    "test_two_attempts_of_one_run_id_each_get_their_own_outcome": attempts_run,
}
R = TypeVar("R")


@pytest.fixture(scope="module")
def wire_runs() -> Iterator[Overlap[str, object]]:
    with Overlap[str, object](len(OWN_SERVER) + 1) as runs:
        yield runs


def run_of_this_test(
    request: pytest.FixtureRequest,
    runs: Overlap[str, object],
    kind: type[R],
    own: Callable[[], object] | None = None,
) -> R:
    """This test's run (``own``, or its ``OWN_SERVER`` job), started with the ``OWN_SERVER``
    runs of every selected test; waits for every run started (see ``Overlap.wait``)."""
    jobs = [(name, job) for name, job in OWN_SERVER.items() if selected(request, name)]
    if own is not None:
        jobs.insert(0, (request.node.name, own))
    runs.start(jobs)
    runs.wait()
    return runs.result_of(request.node.name, kind)


def test_two_blocks_over_the_wire_are_clean_on_a_correct_server(
    staging: StagingServer,
    staging_secret: str,
    request: pytest.FixtureRequest,
    wire_runs: Overlap[str, object],
) -> None:
    own = partial(clean_blocks_run, staging.url, staging_secret)
    result = run_of_this_test(request, wire_runs, RunResult, own)
    assert result.findings == ()
    assert result.stats["users"] == 6
    assert result.stats["statuses"] == {"completed": result.stats["turns"]}
    events = [e for s in result.trace.sessions for e in s.events]
    assert events and all(e.connection_id and e.raw for e in events)


def test_a_misrouting_server_is_caught_across_blocks(
    request: pytest.FixtureRequest, wire_runs: Overlap[str, object]
) -> None:
    result = run_of_this_test(request, wire_runs, RunResult)
    assert "event-misrouted" in result.stats["findings_by_kind"], result.stats
    # The misrouted events carry their sender's data: that is the misrouting's evidence (one
    # observation, one finding), between two different users.
    misrouted = [f for f in result.findings if f.kind == "event-misrouted"]
    pairs = [pair for f in misrouted for pair in (f.pairs or (f.users,))]
    assert pairs and all(len(pair) == 2 and pair[0] != pair[1] for pair in pairs), pairs


def test_a_refused_token_closes_the_connection_and_says_so(
    request: pytest.FixtureRequest, wire_runs: Overlap[str, object]
) -> None:
    refused = run_of_this_test(request, wire_runs, RefusedRun)
    outcome = refused.outcome
    assert refused.refused
    assert outcome.status == "cancelled"
    assert outcome.error is not None and "token refused (close code 4401" in outcome.error


def test_a_server_that_is_not_there_is_a_target_error() -> None:
    target = WebSocketTarget("ws://127.0.0.1:9/ws", secret="s" * 40)
    slot = Population(PopulationSpec("golden_path", seed=0)).slot(0, 0)
    with pytest.raises(TargetError, match=r"cannot connect to ws://127\.0\.0\.1:9/ws as usr_"):
        WireConnection(
            target, slot.user, "c1", next_step=itertools.count().__next__, open_timeout=2
        )


def test_two_attempts_of_one_run_id_each_get_their_own_outcome(
    request: pytest.FixtureRequest, wire_runs: Overlap[str, object]
) -> None:
    attempts = run_of_this_test(request, wire_runs, TwoAttempts)
    first, again = attempts.first, attempts.again
    assert sorted([first.status, again.status]) == ["completed", "rejected"], (first, again)
