"""The master's judgement: workers' records become one Trace that the detectors read whole.

Workers' records are made here the cheap, deterministic way: a block of users runs in process
against the reference backend (``harness.runner.run``) and its Trace is cut into one
:class:`UserRecord` per user, exactly what a worker sends for the users it drove.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from harness.distributed import (
    REPORT_SCHEMA,
    Population,
    PopulationSpec,
    UserRecord,
    WorkerReport,
    assemble,
    report_data,
    report_from_data,
)
from harness.errors import UsageError
from harness.runner import run

SPEC = PopulationSpec("golden_path", seed=0, salt="unit", block=3)
URL = "ws://127.0.0.1:9/ws"


def worker_report(population: Population, worker: int, users: int) -> WorkerReport:
    """What worker ``worker`` sends after driving its first ``users`` users (one block)."""
    trace = run("reference", population.block_scenario(worker, 0)).trace
    records = []
    for sequence in range(users):
        slot = population.slot(worker, sequence)
        user_id = slot.user.user_id
        records.append(
            UserRecord(
                worker=worker,
                sequence=sequence,
                user_id=user_id,
                sessions=tuple(s for s in trace.sessions if s.user_id == user_id),
                turns=tuple(t for t in trace.turns if t.user_id == user_id),
            )
        )
    return WorkerReport(worker=worker, users=tuple(records))


@pytest.fixture(scope="module")
def reports() -> list[WorkerReport]:
    population = Population(SPEC)
    return [worker_report(population, 0, 3), worker_report(population, 1, 3)]


def test_a_clean_distributed_run_has_no_findings_and_counts_every_user(
    reports: list[WorkerReport],
) -> None:
    result = assemble(Population(SPEC), reports, target=URL, replay="locust ...")
    assert result.findings == ()
    assert result.stats["users"] == 6 and result.stats["workers"] == 2
    assert result.stats["users_per_worker"] == {"w0": 3, "w1": 3}
    assert result.stats["statuses"] == {"completed": result.stats["turns"]}
    sessions = [s.session_id for s in result.trace.sessions]
    assert sessions[0].startswith("w0.b0.s") and sessions[-1].startswith("w1.b0.s")
    assert len(set(sessions)) == len(sessions), "blocks of two workers share no session id"
    assert any("distributed run (Locust)" in note for note in result.notes)
    assert result.trace.deterministic is False


def test_steps_are_one_run_wide_order(reports: list[WorkerReport]) -> None:
    trace = assemble(Population(SPEC), reports, target=URL, replay="r").trace
    steps = [s.opened_step for s in trace.sessions]
    steps += [e.step for s in trace.sessions for e in s.events]
    steps += [t.step for t in trace.turns] + [t.ended_step for t in trace.turns]
    assert None not in steps
    assert len(set(steps)) == len(steps), "every moment of every worker has its own step"
    for session in trace.sessions:
        arrivals = [e.step or 0 for e in session.events]
        assert arrivals == sorted(arrivals), session.session_id


def test_the_same_records_give_the_same_trace(reports: list[WorkerReport]) -> None:
    first = assemble(Population(SPEC), reports, target=URL, replay="r")
    again = assemble(Population(SPEC), list(reversed(reports)), target=URL, replay="r")
    assert first.trace_digest == again.trace_digest


def test_an_event_of_one_worker_s_user_on_another_worker_s_tab_is_misrouted(
    reports: list[WorkerReport],
) -> None:
    """Neither worker alone can tell whose run it is; the master, with every user, can."""
    victim, intruder = reports[0].users[0], reports[1].users[0]
    stolen = victim.sessions[0].events[1]
    tab = intruder.sessions[0]
    moved = replace(stolen, seq=len(tab.events), connection_id=tab.connection_id)
    intruder = replace(intruder, sessions=(replace(tab, events=(*tab.events, moved)),))
    broken = [reports[0], replace(reports[1], users=(intruder, *reports[1].users[1:]))]
    result = assemble(Population(SPEC), broken, target=URL, replay="locust -f x")
    misrouted = [f for f in result.findings if f.kind == "event-misrouted"]
    assert misrouted, result.stats["findings_by_kind"]
    assert set(misrouted[0].users) == {victim.user_id, intruder.user_id}
    # Two blocks (two workers): no single `harness run` holds both, so the run's replay.
    assert misrouted[0].replay == "locust -f x"
    # The victim's data inside its own misrouted event is that finding's evidence: one
    # observation, one finding, not also foreign-data (docs/findings.md#foreign-data).
    assert result.stats["findings_by_kind"] == {"event-misrouted": 1}


def test_a_finding_within_one_block_replays_with_that_block_s_harness_run(
    reports: list[WorkerReport],
) -> None:
    user = reports[0].users[1]
    turn = user.turns[0]
    hung = replace(turn, outcome=replace(turn.outcome, status="timeout"))
    changed = replace(user, turns=(hung, *user.turns[1:]))
    users = (reports[0].users[0], changed, reports[0].users[2])
    result = assemble(
        Population(SPEC), [replace(reports[0], users=users)], target=URL, replay="whole"
    )
    hangs = [f for f in result.findings if f.kind == "hang"]
    assert [f.users for f in hangs] == [(user.user_id,)]
    assert hangs[0].replay == SPEC.block_replay(0, 0, URL)
    assert "--salt unit-w0-b0" in hangs[0].replay


def test_a_user_not_given_by_the_run_s_parameters_is_refused(
    reports: list[WorkerReport],
) -> None:
    other = Population(replace(SPEC, seed=1))
    with pytest.raises(UsageError) as refused:
        assemble(other, reports, target=URL, replay="r")
    message = str(refused.value)
    assert "worker 0 user 0 is 'usr_" in message
    assert "--harness-* options" in message


def test_reports_travel_as_plain_data_and_come_back_equal(reports: list[WorkerReport]) -> None:
    data = report_data(reports[0])
    assert data["schema"] == REPORT_SCHEMA
    through_json = json.loads(json.dumps(data))
    assert report_from_data(through_json) == reports[0]


@pytest.mark.parametrize(
    ("data", "shown"),
    [({"schema": 99}, "schema=99"), ([], "schema='list'"), ({"worker": 0}, "schema=None")],
)
def test_a_report_of_another_schema_is_refused(data: object, shown: str) -> None:
    with pytest.raises(UsageError) as refused:
        report_from_data(data)
    assert shown in str(refused.value)
    assert "same version of isolation-harness" in str(refused.value)


def test_a_malformed_report_is_refused_with_where() -> None:
    with pytest.raises(UsageError, match="worker report cannot be read"):
        report_from_data({"schema": REPORT_SCHEMA, "worker": "zero", "users": []})
