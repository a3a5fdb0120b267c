"""The master's side: workers' records in, one Trace, the detectors, one RunResult out.

Workers send :class:`UserRecord` s as plain data (:func:`report_data`, Locust messages are
msgpack); the master rebuilds every user from the run's parameters (never trusting a worker's
copy of an identity: the ids it reports must be the ones the parameters give), renames session
ids so that blocks cannot collide (``w<worker>.b<block>.s0000``), orders every step of every
worker on one axis (wall time, then worker, then the worker's own order), and builds the Trace
that ``harness run`` would have built had one process driven every user. The detectors then see
what crossed between users of different workers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from harness.detectors import group_findings, run_detectors
from harness.distributed._population import Population, UserSlot
from harness.distributed._user_run import UserRecord
from harness.errors import UsageError
from harness.model import Finding, RunResult, Scenario, SessionRecord, Trace, TurnRecord
from harness.runner import loop_span, tally
from harness.serialization import RecordDataError, digest, from_data, to_data

__all__ = [
    "REPORT_SCHEMA",
    "WorkerReport",
    "assemble",
    "report_data",
    "report_from_data",
]

#: Version of the worker-to-master report's data.
REPORT_SCHEMA = 1


@dataclass(frozen=True, slots=True)
class WorkerReport:
    """Everything one worker recorded: its users, and lines for the report's notes."""

    worker: int
    users: tuple[UserRecord, ...]
    notes: tuple[str, ...] = ()


def report_data(report: WorkerReport) -> dict[str, Any]:
    """``report`` as plain data (JSON and msgpack alike) for ``runner.send_message``."""
    return {"schema": REPORT_SCHEMA, **to_data(report)}


def report_from_data(data: object) -> WorkerReport:
    """The :class:`WorkerReport` that :func:`report_data` wrote.

    Raises:
        UsageError: the data is not a report of this schema (a worker of another version).
    """
    if not isinstance(data, Mapping) or data.get("schema") != REPORT_SCHEMA:
        schema = data.get("schema") if isinstance(data, Mapping) else type(data).__name__
        raise UsageError(
            f"worker report schema={schema!r}, expected {REPORT_SCHEMA}: the master and its "
            "workers must run the same version of isolation-harness."
        )
    body = {key: value for key, value in data.items() if key != "schema"}
    try:
        return from_data(WorkerReport, body)
    except RecordDataError as exc:
        raise UsageError(f"worker report cannot be read: {exc}") from exc


def assemble(
    population: Population,
    reports: Iterable[WorkerReport],
    *,
    target: str,
    replay: str,
    notes: Sequence[str] = (),
) -> RunResult:
    """Judge a distributed run: one Trace of every worker's users, then the detectors.

    Args:
        population: the run's parameters (the master's own).
        reports: one per worker.
        target: the URL the users talked to.
        replay: the command that spawns the same population (the run's replay).
        notes: lines for the report (workers that did not report, turns still in flight).

    Raises:
        UsageError: a worker's user is not the one the run's parameters give (a worker started
            with other --harness-* options than the master).
    """
    reports = sorted(reports, key=lambda r: r.worker)
    records = sorted((u for r in reports for u in r.users), key=lambda u: (u.worker, u.sequence))
    slots = [_slot_of(population, record) for record in records]
    sessions, turns = _ordered(*_renamed(records, slots))
    spec = population.spec
    scenario = _combined(population, slots)
    unfinished = sum(1 for record in records if not record.finished)
    all_notes = [
        *notes,
        *(note for report in reports for note in report.notes),
        "distributed run (Locust): remote target, real time; each block of users replays on "
        "one machine with its `harness run` command, interleavings across users are best-effort",
        "live roots not observed (black-box target): shared-state and retention checks "
        "skipped; context checks use echo results only",
    ]
    if unfinished:
        all_notes.append(
            f"{unfinished} user(s) had not finished at test stop: their open tabs' events are "
            "judged, turns still in flight are not"
        )
    trace = Trace(
        scenario=spec.scenario,
        seed=spec.seed,
        strategy="locust",
        target=target,
        users=tuple(slot.user for slot in slots),
        sessions=sessions,
        turns=turns,
        capabilities=frozenset({"scripted_plan", "tools"}),
        notes=tuple(dict.fromkeys(all_notes)),
        deterministic=False,
        scenario_spec=scenario,
        heavy_users=scenario.heavy_users,
        starvation_factor=scenario.starvation_factor,
        crashes=tuple(c for record in records for c in record.crashes),
    )
    # Grouped here, before the replays are chosen: a group's users decide whether one block
    # replays it or only the whole population does.
    findings = tuple(
        replace(f, replay=_finding_replay(f, slots, population, target, replay))
        for f in group_findings(run_detectors(trace))
    )
    stats: dict[str, Any] = {
        "users": len(slots),
        "workers": len(reports),
        "users_per_worker": {f"w{r.worker}": len(r.users) for r in reports},
        "blocks": len({(slot.worker, slot.block) for slot in slots}),
        "sessions": len(sessions),
        "turns": len(turns),
        "events": sum(len(s.events) for s in sessions),
        "unfinished_users": unfinished,
        "virtual_seconds": loop_span(sessions, turns, real_clock=True),
        "statuses": tally(t.outcome.status for t in turns),
        "findings_by_kind": tally(f.kind for f in findings),
    }
    return RunResult(
        scenario=spec.scenario,
        seed=spec.seed,
        strategy=trace.strategy,
        target=target,
        trace=trace,
        findings=findings,
        trace_digest=digest(trace),
        replay=replay,
        stats=stats,
        notes=trace.notes,
    )


def _slot_of(population: Population, record: UserRecord) -> UserSlot:
    slot = population.slot(record.worker, record.sequence)
    if slot.user.user_id != record.user_id:
        raise UsageError(
            f"worker {record.worker} user {record.sequence} is {record.user_id!r}, but the run's "
            f"parameters ({population.spec!r}) give {slot.user.user_id!r}: start the workers "
            "with the master's --harness-* options (or none: the master sends its own)."
        )
    return slot


def _renamed(
    records: Sequence[UserRecord], slots: Sequence[UserSlot]
) -> tuple[list[SessionRecord], list[TurnRecord]]:
    sessions: list[SessionRecord] = []
    turns: list[TurnRecord] = []
    for record, slot in zip(records, slots, strict=True):
        sessions += [replace(s, session_id=slot.prefix + s.session_id) for s in record.sessions]
        turns += [replace(t, session_id=slot.prefix + t.session_id) for t in record.turns]
    return sessions, turns


def _ordered(
    sessions: Sequence[SessionRecord], turns: Sequence[TurnRecord]
) -> tuple[tuple[SessionRecord, ...], tuple[TurnRecord, ...]]:
    """Sessions and turns with run-wide steps: wall time, then worker, then the worker's order."""
    worker_of = {s.session_id: int(s.session_id[1 : s.session_id.index(".")]) for s in sessions}
    worker_of.update({t.session_id: int(t.session_id[1 : t.session_id.index(".")]) for t in turns})
    moments: set[tuple[float, int, int]] = set()
    for s in sessions:
        worker = worker_of[s.session_id]
        if s.opened_step is not None:
            moments.add((s.opened_at, worker, s.opened_step))
        if s.closed_step is not None and s.closed_at is not None:
            moments.add((s.closed_at, worker, s.closed_step))
        moments.update((e.t or 0.0, worker, e.step) for e in s.events if e.step is not None)
    for t in turns:
        worker = worker_of[t.session_id]
        moments.add((t.started_at, worker, t.step))
        if t.ended_step is not None:
            moments.add((t.ended_at, worker, t.ended_step))
    # A worker's step numbers are unique within the worker: (worker, step) names one moment.
    rank = {(worker, step): n for n, (_, worker, step) in enumerate(sorted(moments))}

    def step(session_id: str, local: int | None) -> int | None:
        return None if local is None else rank[(worker_of[session_id], local)]

    ordered_sessions = tuple(
        replace(
            s,
            opened_step=step(s.session_id, s.opened_step),
            closed_step=step(s.session_id, s.closed_step),
            events=tuple(replace(e, step=step(s.session_id, e.step)) for e in s.events),
        )
        for s in sessions
    )
    ordered_turns = tuple(
        sorted(
            (
                replace(
                    t,
                    step=rank[(worker_of[t.session_id], t.step)],
                    ended_step=step(t.session_id, t.ended_step),
                )
                for t in turns
            ),
            key=lambda t: (t.step, t.turn.run_id),
        )
    )
    return ordered_sessions, ordered_turns


def _combined(population: Population, slots: Sequence[UserSlot]) -> Scenario:
    """One Scenario of every user that ran, with run-wide session ids (for reports and replay)."""
    spec = population.spec
    heavy: list[str] = []
    for worker, block in dict.fromkeys((slot.worker, slot.block) for slot in slots):
        heavy += population.block_scenario(worker, block).heavy_users
    present = {slot.user.user_id for slot in slots}
    first = population.block_scenario(slots[0].worker, slots[0].block) if slots else None
    return Scenario(
        name=spec.scenario,
        seed=spec.seed,
        users=tuple(slot.user for slot in slots),
        sessions=tuple(
            replace(plan, session_id=slot.prefix + plan.session_id)
            for slot in slots
            for plan in slot.plans
        ),
        turn_timeout=slots[0].turn_timeout if slots else 30.0,
        description=f"{spec.scenario} in blocks of {spec.block} users, run by Locust workers",
        starvation_factor=first.starvation_factor if first is not None else 4.0,
        heavy_users=tuple(user for user in heavy if user in present),
        salt=spec.salt,
    )


def _finding_replay(
    finding: Finding,
    slots: Sequence[UserSlot],
    population: Population,
    target: str,
    replay: str,
) -> str:
    """One block's ``harness run`` when the finding's users share a block, else the run's."""
    by_user = {slot.user.user_id: slot for slot in slots}
    blocks = {(by_user[u].worker, by_user[u].block) for u in finding.users if u in by_user}
    if len(blocks) == 1:
        (worker, block) = blocks.pop()
        return population.spec.block_replay(worker, block, target)
    return replay
