"""The Locust side: a ``User`` that is one simulated user, and the master that judges the run.

Importing this module imports Locust (which monkey-patches the process for gevent) and adds
listeners to ``locust.events``: it is imported only when a locustfile asks for
:class:`HarnessUser` (``harness.distributed`` loads it lazily).

- ``init_command_line_parser``: the ``--harness-*`` options (the master sends its values to
  the workers with each spawn).
- ``init``: the worker registers ``harness_collect``; the master registers ``harness_report``.
- ``test_stopping`` on the master (before the workers are told to stop): it asks every worker
  for its records, waits for them (bounded), assembles one Trace, runs the detectors, writes
  ``findings.json``/``trace.json``/``report.html`` and sets ``environment.process_exit_code``
  (1 on findings, 2 when a worker's records never came or a token was refused).
- A standalone ``locust`` (no ``--master``) does the same in its one process.
"""

from __future__ import annotations

import itertools
import logging
import time
import weakref
from pathlib import Path
from typing import Any

from locust import User, events, task
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from harness.distributed._assembly import WorkerReport, assemble, report_data, report_from_data
from harness.distributed._connection import WireConnection
from harness.distributed._population import Population, PopulationSpec, UserSlot
from harness.distributed._user_run import UserJournal, drive_user
from harness.errors import HarnessError, UsageError
from harness.model import TurnRecord
from harness.reporting import write_reports
from harness.targets.websocket import WebSocketTarget

__all__ = ["HarnessUser"]

logger = logging.getLogger("harness.distributed")

COLLECT = "harness_collect"
REPORT = "harness_report"
#: Kinds a worker can judge from one user's own records (the rest need every user).
PER_USER_KINDS = ("event-order", "event-missing", "context-mismatch")


class TurnFailed(Exception):
    """A turn timed out or crashed: a Locust failure (the harness reports it as ``hang``)."""


class IsolationFailure(Exception):
    """A per-user check on the worker found an isolation failure: a Locust failure."""


def _add_arguments(parser: Any) -> None:
    group = parser.add_argument_group("isolation harness")
    group.add_argument("--harness-scenario", default="golden_path", help="scenario name")
    group.add_argument("--harness-seed", type=int, default=0, help="scenario seed")
    group.add_argument("--harness-salt", default="", help="mixed into every block's seed")
    group.add_argument("--harness-block", type=int, default=10, help="users per block scenario")
    group.add_argument(
        "--harness-turn-timeout", type=float, default=0.0, help="seconds (0: the scenario's)"
    )
    group.add_argument(
        "--harness-report", default="reports/locust", help="report directory (the master's)"
    )
    group.add_argument(
        "--harness-grace",
        type=float,
        default=10.0,
        help="seconds a worker waits at test stop for its users' turns in flight",
    )


def _spec(environment: Environment) -> PopulationSpec:
    options = environment.parsed_options
    timeout = float(getattr(options, "harness_turn_timeout", 0.0) or 0.0)
    return PopulationSpec(
        scenario=getattr(options, "harness_scenario", "golden_path"),
        seed=int(getattr(options, "harness_seed", 0)),
        salt=str(getattr(options, "harness_salt", "") or ""),
        block=int(getattr(options, "harness_block", 10)),
        turn_timeout=timeout or None,
    )


class _Ledger:
    """One process's users of the current test (plain class, one per Environment)."""

    def __init__(self, environment: Environment) -> None:
        self.environment = environment
        self.population = Population(_spec(environment))
        self.sequence = itertools.count()
        self.steps = itertools.count()
        self.journals: list[UserJournal] = []
        self.target: WebSocketTarget | None = None

    def wire_target(self) -> WebSocketTarget:
        if self.target is None:
            host = self.environment.host or ""
            self.target = WebSocketTarget(host)  # tokens: HARNESS_JWT_SECRET / _TOKENS_FILE
        return self.target

    def report(self, grace: float) -> WorkerReport:
        deadline = time.monotonic() + grace
        while any(not j.finished for j in self.journals) and time.monotonic() < deadline:
            time.sleep(0.05)  # gevent's sleep: Locust patched time
        runner = self.environment.runner
        worker = max(getattr(runner, "worker_index", 0), 0)
        notes = [str(j.fatal) for j in self.journals if j.fatal is not None][:1]
        return WorkerReport(
            worker=worker, users=tuple(j.record() for j in self.journals), notes=tuple(notes)
        )


# One ledger per Environment: Locust hands users their environment, not a place for ours.
_LEDGERS: weakref.WeakKeyDictionary[Environment, _Ledger] = weakref.WeakKeyDictionary()


def _ledger(environment: Environment) -> _Ledger:
    ledger = _LEDGERS.get(environment)
    if ledger is None:
        ledger = _LEDGERS[environment] = _Ledger(environment)
    return ledger


class HarnessUser(User):
    """One simulated user of a harness scenario over the wire protocol (``--host ws://...``).

    Its identity is the ``sequence``-th user this worker spawns, from (scenario, seed, salt,
    worker index, sequence) (:class:`~harness.distributed.PopulationSpec`). It runs its session
    plans once, reports each turn through Locust's request events (type ``WS``, named after
    the scenario; a timeout or crash is a failure) and then idles until the test stops.
    """

    abstract = True
    #: Locust's ``request_type`` of each turn.
    request_type = "WS"

    def wait_time(self) -> float:
        """After its plans a user idles until the test stops, so Locust never replaces it.

        A user that stopped would be replaced by a new one during a ramp-up, and the run's
        population would depend on timing; an idle one keeps it at exactly ``-u`` users.
        """
        return 3600.0

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        self._ledger = _ledger(environment)
        worker = max(getattr(environment.runner, "worker_index", 0), 0)
        #: Where this user comes from (worker, sequence, block, the block's salt).
        self.slot: UserSlot = self._ledger.population.slot(worker, next(self._ledger.sequence))
        self.journal = UserJournal(self.slot, self._ledger.steps.__next__)
        self._ledger.journals.append(self.journal)

    @task
    def run_plans(self) -> None:
        """Run this user's session plans to their end, once."""
        if self.journal.finished:
            return
        target = self._ledger.wire_target()

        def connect(slot: UserSlot, connection_id: str) -> WireConnection:
            return WireConnection(
                target, slot.user, connection_id, next_step=self._ledger.steps.__next__
            )

        try:
            drive_user(self.journal, connect, on_turn=self._turn_ended)
        finally:
            self.journal.finished = True
        self._check_self()

    def _turn_ended(self, record: TurnRecord, took: float) -> None:
        outcome = record.outcome
        failed = record.crash is not None or outcome.status == "timeout"
        self.environment.events.request.fire(
            request_type=self.request_type,
            name=f"turn {self._ledger.population.spec.scenario}",
            response_time=took * 1000.0,
            response_length=0,
            exception=TurnFailed(f"{outcome.status}: {record.crash or outcome.error}")
            if failed
            else None,
            context={"user_id": record.user_id, "run_id": record.turn.run_id},
        )

    def _check_self(self) -> None:
        """The per-user checks, on the worker: what this user's own records prove."""
        from harness.detectors import run_detectors
        from harness.model import Trace

        record = self.journal.record()
        trace = Trace(
            scenario=self.slot.salt,
            seed=0,
            strategy="locust",
            target=self._ledger.wire_target().url,
            users=(self.slot.user,),
            sessions=record.sessions,
            turns=record.turns,
            capabilities=frozenset({"scripted_plan", "tools"}),
            deterministic=False,
        )
        for finding in run_detectors(trace, only=PER_USER_KINDS):
            self.environment.events.request.fire(
                request_type="isolation",
                name=finding.kind,
                response_time=0.0,
                response_length=0,
                exception=IsolationFailure(finding.summary),
                context={"user_id": self.slot.user.user_id},
            )


# --------------------------------------------------------------------------- the run's two ends


def _on_init(environment: Environment, **_: Any) -> None:
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        # A worker's options arrive with each spawn, from the master, which checked them.
        runner.register_message(COLLECT, _send_report, concurrent=True)
        return
    try:
        _check_options(environment)
    except UsageError as exc:
        logger.error("isolation harness: %s", exc)
        raise SystemExit(2) from None
    if isinstance(runner, MasterRunner):
        runner.register_message(REPORT, _receive_report)


def _check_options(environment: Environment) -> None:
    """Refuse bad ``--harness-*`` options and a ``--host`` that is no WebSocket URL, at start."""
    _spec(environment)
    host = environment.host or ""
    if not host.startswith(("ws://", "wss://")):
        raise UsageError(
            f"--host={host!r} is not a WebSocket URL: pass the target's ws://HOST:PORT/PATH "
            "(or wss://), e.g. --host ws://127.0.0.1:8765/ws."
        )


def _on_test_start(environment: Environment, **_: Any) -> None:
    _LEDGERS.pop(environment, None)  # a new test: new users, new sequence
    _REPORTS.pop(environment, None)


def _send_report(environment: Environment, msg: Any, **_: Any) -> None:
    grace = float(msg.data.get("grace", 10.0)) if isinstance(msg.data, dict) else 10.0
    report = _ledger(environment).report(grace)
    if environment.runner is not None:
        environment.runner.send_message(REPORT, report_data(report))


# Reports received by a master, per Environment: (worker id, data).
_REPORTS: weakref.WeakKeyDictionary[Environment, dict[str, Any]] = weakref.WeakKeyDictionary()


def _receive_report(environment: Environment, msg: Any, **_: Any) -> None:
    _REPORTS.setdefault(environment, {})[msg.node_id] = msg.data


def _on_test_stopping(environment: Environment, **_: Any) -> None:
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        return
    grace = float(getattr(environment.parsed_options, "harness_grace", 10.0))
    notes: list[str] = []
    if isinstance(runner, MasterRunner):
        reports = _collect(environment, runner, grace, notes)
    else:
        reports = [_ledger(environment).report(grace)] if environment in _LEDGERS else []
    _judge(environment, reports, notes)


def _collect(
    environment: Environment, runner: MasterRunner, grace: float, notes: list[str]
) -> list[WorkerReport]:
    received = _REPORTS.setdefault(environment, {})
    received.clear()
    expected = {client.id for client in runner.clients.all}
    runner.send_message(COLLECT, {"grace": grace})
    deadline = time.monotonic() + grace + 30.0
    while not expected <= set(received) and time.monotonic() < deadline:
        time.sleep(0.05)  # gevent's sleep: Locust patched time
    missing = sorted(expected - set(received))
    if missing:
        notes.append(f"no records from worker(s) {', '.join(missing)} within {grace + 30.0:.0f}s")
    return [report_from_data(received[client]) for client in sorted(received)]


def _judge(environment: Environment, reports: list[WorkerReport], notes: list[str]) -> None:
    ledger = _ledger(environment)
    spec = ledger.population.spec
    host = environment.host or ""
    workers = [(report.worker, len(report.users)) for report in reports]
    options = environment.parsed_options
    locustfile = str(getattr(options, "locustfile", "locustfile.py"))
    replay = spec.locust_replay(workers, locustfile, host)
    try:
        result = assemble(ledger.population, reports, target=host, replay=replay, notes=notes)
    except HarnessError as exc:
        logger.error("isolation harness: cannot judge the run: %s", exc)
        environment.process_exit_code = 2
        return
    directory = Path(str(getattr(options, "harness_report", "reports/locust")))
    paths = write_reports(directory, [result])
    kinds = result.stats["findings_by_kind"]
    logger.info(
        "isolation harness: %d users on %d worker(s), %d turns, findings %s; reports: %s %s",
        result.stats["users"],
        result.stats["workers"],
        result.stats["turns"],
        kinds or "none",
        paths.findings,
        paths.html,
    )
    refusals = [note for note in result.notes if "refused the token" in note]
    for problem in [*notes, *refusals[:1]]:
        logger.error("isolation harness: %s", problem)
    if notes or refusals or not reports:
        environment.process_exit_code = 2
    elif result.findings:
        environment.process_exit_code = 1


# Listeners on Locust's global hooks, added once when a locustfile first imports HarnessUser.
# (Locust's EventHook.add_listener carries no annotations: typed as Any here, once.)
_hooks: Any = events
_hooks.init_command_line_parser.add_listener(_add_arguments)
_hooks.init.add_listener(_on_init)
_hooks.test_start.add_listener(_on_test_start)
_hooks.test_stopping.add_listener(_on_test_stopping)
