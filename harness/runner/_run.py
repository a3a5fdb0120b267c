"""The run: load, drive on the right loop, record the Trace once, detect, and name the replay."""

from __future__ import annotations

import asyncio
import concurrent.futures
import multiprocessing
import os
import shlex
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness.contract import Target
from harness.detectors import run_detectors
from harness.errors import TargetError
from harness.model import (
    Finding,
    RunResult,
    Scenario,
    ScheduleRecord,
    SessionRecord,
    Trace,
    TurnRecord,
)
from harness.observe import TokenIndex, frozen_heap, is_library_module
from harness.observe.tokens import remember_simulated
from harness.runner._bounds import Bounds
from harness.runner._calibration import ClientLoad, calibrate, client_load
from harness.runner._driver import RunProgress, ScenarioDriver, runs_of
from harness.runner._recorder import TraceRecorder
from harness.serialization import digest
from harness.targets import TargetInfo, describe, load_target

__all__ = [
    "RunProgress",
    "derive_target_spec",
    "estimate_steps",
    "replay_command",
    "run",
    "run_async",
]


def replay_command(
    scenario: Scenario | str,
    *,
    seed: int,
    strategy: str,
    target: str = "reference",
    fault: str | None = None,
    users: int | None = None,
    salt: str = "",
) -> str:
    """The exact ``harness run`` command that replays one (scenario, seed, strategy)."""
    name = scenario if isinstance(scenario, str) else scenario.name
    count = (
        users if users is not None else (0 if isinstance(scenario, str) else len(scenario.users))
    )
    parts = ["harness", "run"]
    if target != "reference":
        parts += ["--target", target]
    parts += [
        "--scenario",
        name,
        "--users",
        str(count),
        "--seed",
        str(seed),
        "--strategy",
        strategy,
    ]
    salt = salt or ("" if isinstance(scenario, str) else scenario.salt)
    if salt:
        parts += ["--salt", salt]
    if fault:
        parts += ["--fault", fault]
    return " ".join(parts)


def derive_target_spec(target: Target) -> str:
    """The ``--target`` spec that loads ``target`` again, for replay commands.

    A target may say it itself (a ``spec`` attribute: ``reference``, a ``ws://`` URL); otherwise
    it is ``module:Class`` of the target's class, which ``--target`` loads by calling the class.
    A class defined in ``__main__`` or inside a function cannot be loaded that way: the spec
    then says so in angle brackets rather than naming another target.
    """
    spec = getattr(target, "spec", None)
    if isinstance(spec, str) and spec:
        return spec
    cls = type(target)
    module, qualname = cls.__module__, cls.__qualname__
    if module == "__main__" or "<locals>" in qualname:
        return f"<{module}.{qualname}: not importable; pass --target module:attr>"
    return f"{module}:{qualname}"


def import_root(spec: str) -> str | None:
    """The ``sys.path`` entry a ``module:attr`` spec's package comes from, when a fresh shell in
    the current directory would not find it there (None for the current directory, installed
    packages and the built-in specs)."""
    module_name, sep, _ = spec.partition(":")
    if not sep or "://" in spec:
        return None
    module = sys.modules.get(module_name.split(".")[0])
    origin = getattr(module, "__file__", None)
    if origin is None:
        locations = list(getattr(module, "__path__", ()))
        if not locations:
            return None
        root = Path(locations[0]).resolve().parent
    else:
        path = Path(origin).resolve()
        root = path.parent.parent if path.name == "__init__.py" else path.parent
    entries = {Path(entry or ".").resolve() for entry in sys.path}
    if root not in entries or root == Path.cwd().resolve():
        return None  # installed (found by an import finder) or in the current directory
    if is_library_module(module_name):
        return None  # the standard library or an installed distribution
    return str(root)


def _fault_of(target: Target) -> str | None:
    fault = getattr(target, "fault", None)
    return fault if isinstance(fault, str) else None


async def run_async(
    target: Target,
    scenario: Scenario,
    *,
    strategy: str = "asyncio",
    observe: bool = True,
    progress: RunProgress | None = None,
    schedule: ScheduleRecord | None = None,
    info: TargetInfo | None = None,
    bounds: Bounds | None = None,
) -> Trace:
    """Drive ``scenario`` against ``target`` on the running loop and return its Trace."""
    driver = _driver(target, scenario, info or describe(target), observe, progress, bounds)
    await driver.drive()
    return driver.recorder.trace(
        strategy=strategy,
        schedule=schedule,
        observation=driver.observation(),
        deterministic=driver.info.deterministic,
    )


def _driver(
    target: Target,
    scenario: Scenario,
    info: TargetInfo,
    observe: bool,
    progress: RunProgress | None,
    bounds: Bounds | None = None,
) -> ScenarioDriver:
    runs = runs_of(scenario)
    # Tokens of users earlier runs of this process simulated are foreign to this run's users.
    index = TokenIndex.build(scenario.users, runs, earlier=True)
    remember_simulated(scenario.users, runs)
    return ScenarioDriver(
        target,
        info,
        scenario,
        index=index,
        recorder=TraceRecorder(scenario, info),
        observe=observe,
        progress=progress,
        bounds=bounds,
    )


def run(
    target: Target | str,
    scenario: Scenario,
    *,
    strategy: str = "random",
    fault: str | None = None,
    detectors: bool = True,
    progress: RunProgress | None = None,
    target_spec: str | None = None,
    only: Sequence[str] | None = None,
    target_options: Mapping[str, Any] | None = None,
    strategy_options: Mapping[str, Any] | None = None,
    info: TargetInfo | None = None,
    bounds: Bounds | None = None,
) -> RunResult:
    """Run one scenario against a target and detect findings.

    Args:
        target: a Target, or a spec for :func:`harness.targets.load_target`.
        scenario: what to run; its ``seed`` seeds the scheduler too.
        strategy: ``fifo``, ``random`` or ``pct`` (in-process targets); remote targets always run
            on the stock loop and say so in the notes.
        fault: a reference-backend fault: the reference adapter's option, for a spec target
            only (a loaded reference target carries its own).
        detectors: False runs the scenario without observing or detecting (for benchmarks).
        target_spec: how the replay command names the target; by default the spec given, or
            the one :func:`derive_target_spec` derives from a target instance.
        info: ``describe(target)`` when the caller has it already (one read per target).
        bounds: how long adapter calls may take (``--call-timeout``, ``--block-limit``).

    Raises:
        TargetLoadError: the spec names nothing loadable.
        TargetError: the target failed to start or refused the harness; its ``result`` is
            the run as far as it went, marked ``stats["failed"]``.
    """
    given_spec = target if isinstance(target, str) else None
    if isinstance(target, str):
        target_spec = target_spec or target
        target = load_target(target, fault=fault, options=target_options)
    spec = target_spec or derive_target_spec(target)
    fault = _fault_of(target)
    info = info or describe(target)
    if info.requires_fresh_process and not _in_fresh_child() and not spec.startswith("<"):
        # State outlives a Target in this process: run in a process of its own, from the spec.
        return _run_in_fresh_process(
            given_spec or spec,
            scenario,
            strategy=strategy,
            fault=fault,
            detectors=detectors,
            target_spec=spec,
            only=only,
            target_options=target_options if given_spec else None,
            strategy_options=strategy_options,
        )
    in_process = "live_roots" in info.capabilities
    options = dict(strategy_options or {})
    if in_process and strategy == "pct" and "steps" not in options:
        options["steps"] = estimate_steps(target, scenario, info=info)
    driver = _driver(target, scenario, info, detectors, progress, bounds)
    if _in_fresh_child():
        driver.recorder.note("target requires a fresh process: this run had a process of its own")
    # The strategy asked for, not the one that ran: a remote run records "asyncio", which
    # `harness run` does not accept, and replays best-effort anyway.
    command = replay_command(
        scenario, seed=scenario.seed, strategy=strategy, target=spec, fault=fault
    )
    root = import_root(spec)
    if root is not None:
        # Importable here only through a path set elsewhere (pytest's pythonpath, PYTHONPATH):
        # the command carries it, or a shell would not find the target.
        command = f"PYTHONPATH={shlex.quote(root)} {command}"
    try:
        with frozen_heap(enabled=detectors and in_process):
            schedule, ran = _drive(driver, strategy, options, in_process)
    except TargetError as exc:
        trace = _trace(driver, strategy, None, in_process)
        failed = _result(trace, scenario, spec, fault, command, ())
        stats = {**failed.stats, "failed": str(exc)}
        notes = (*failed.notes, f"this run did not finish: {exc}")
        failed = replace(failed, stats=stats, notes=notes)
        exc.result = failed
        raise
    findings: tuple[Finding, ...] = ()
    trace = _trace(driver, ran, schedule, in_process)
    if detectors:
        allowed = tuple(info.event_rules.get("allow_duplicates", ()))
        detected = run_detectors(trace, index=driver.index, only=only, allow_duplicates=allowed)
        findings = tuple(replace(f, replay=command) for f in detected)
    result = _result(trace, scenario, spec, fault, command, findings)
    if in_process:
        return result
    return _calibrated(result, client_load(driver.lags))


def _calibrated(result: RunResult, load: ClientLoad) -> RunResult:
    """A remote run's timing verdicts, judged against the client's own measured load."""
    findings, notes = calibrate(result.findings, load)
    stats = {
        **result.stats,
        "client_loop_lag": {"samples": load.samples, "p90": load.p90, "max": load.max},
        "findings_by_kind": tally(f.kind for f in findings),
    }
    if notes:
        stats["inconclusive"] = len(notes) - 1
    return replace(result, findings=findings, stats=stats, notes=(*result.notes, *notes))


def _drive(
    driver: ScenarioDriver, strategy: str, options: dict[str, Any], in_process: bool
) -> tuple[ScheduleRecord | None, str]:
    """Drive the run on the seeded loop (in process) or the stock loop; (schedule, strategy)."""
    if in_process:
        from harness.scheduling import run as run_seeded

        _, schedule = run_seeded(
            driver.drive(), strategy=strategy, seed=driver.scenario.seed, strategy_options=options
        )
        if not driver.info.deterministic:
            driver.recorder.note("target declares deterministic=False: replay is best-effort")
        if schedule.real_io:
            driver.recorder.note(
                "real I/O reached the loop (sockets, threads, child processes): the OS decides "
                "when it arrives, so replay is best-effort"
            )
        return schedule, strategy
    asyncio.run(driver.drive())
    driver.recorder.note(
        f"remote target: ran on the stock asyncio loop in real time; strategy {strategy!r} "
        "does not apply and replay is best-effort"
    )
    return None, "asyncio"


def _trace(
    driver: ScenarioDriver, ran: str, schedule: ScheduleRecord | None, in_process: bool
) -> Trace:
    return driver.recorder.trace(
        strategy=ran,
        schedule=schedule,
        observation=driver.observation(),
        deterministic=driver.info.deterministic
        and in_process
        and not (schedule is not None and schedule.real_io),
    )


def _result(
    trace: Trace,
    scenario: Scenario,
    spec: str,
    fault: str | None,
    command: str,
    findings: tuple[Finding, ...],
) -> RunResult:
    stats: dict[str, Any] = {
        "users": len(scenario.users),
        "sessions": len(trace.sessions),
        "turns": len(trace.turns),
        "events": sum(len(s.events) for s in trace.sessions),
        "checkpoints": len(trace.checkpoints),
        **{f"observed_{name}": count for name, count in trace.observed.items()},
        "scheduler_steps": trace.schedule.steps if trace.schedule else 0,
        # Loop seconds from the first session to the last turn: virtual on the seeded loop
        # (which starts at 0), real over the wire (whose loop clock starts anywhere).
        "virtual_seconds": loop_span(
            trace.sessions, trace.turns, real_clock=trace.strategy == "asyncio"
        ),
        "statuses": tally(t.outcome.status for t in trace.turns),
        "findings_by_kind": tally(f.kind for f in findings),
    }
    return RunResult(
        scenario=scenario.name,
        seed=scenario.seed,
        strategy=trace.strategy,
        target=spec,
        trace=trace,
        findings=findings,
        trace_digest=digest(trace),
        replay=command,
        fault=fault,
        stats=stats,
        notes=trace.notes,
    )


def loop_span(
    sessions: Sequence[SessionRecord], turns: Sequence[TurnRecord], *, real_clock: bool
) -> float:
    """Loop seconds from the first session to the last turn (a run's ``virtual_seconds``).

    The seeded loop's clock starts at 0, so the last turn's end is the span; a real loop's
    clock (``real_clock``: over the wire) starts anywhere, so the first session is subtracted.
    """
    end = max((t.ended_at for t in turns), default=0.0)
    if not real_clock:
        return end
    start = min((s.opened_at for s in sessions), default=0.0)
    return round(max(0.0, end - start), 6)


#: Set in a process started by :func:`_run_in_fresh_process` for its one run.
_FRESH_CHILD_ENV = "HARNESS_FRESH_PROCESS_CHILD"


def _in_fresh_child() -> bool:
    return os.environ.get(_FRESH_CHILD_ENV) == "1"


def _fresh_child_run(spec: str, scenario: Scenario, options: dict[str, Any]) -> RunResult:
    os.environ[_FRESH_CHILD_ENV] = "1"
    return run(spec, scenario, **options)


def _run_in_fresh_process(spec: str, scenario: Scenario, **options: Any) -> RunResult:
    """One run in a new interpreter (``spawn``): nothing of this process's modules is shared.

    The target is loaded there from ``spec``; the result (a frozen record) comes back pickled.
    Progress callbacks do not cross the process boundary.
    """
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(_fresh_child_run, spec, scenario, options).result()


def estimate_steps(target: Target, scenario: Scenario, *, info: TargetInfo | None = None) -> int:
    """How many scheduling points ``scenario`` has: a PCT run without change points.

    PCT draws its priority change points over the run's scheduling points (steps where more
    than one task could run); drawn over a wrong estimate they fall past the end (too high) or
    bunch at the start (too low) and the search goes blind.
    """
    from harness.scheduling import run as run_seeded

    _, schedule = run_seeded(
        run_async(target, scenario, strategy="pct", observe=False, info=info),
        strategy="pct",
        seed=scenario.seed,
        strategy_options={"depth": 1},
    )
    return max(1, len(schedule.decisions))


def tally(values: Iterable[str]) -> dict[str, int]:
    """How often each value occurs, sorted by value (a run's ``statuses``, ``findings_by_kind``)."""
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return dict(sorted(counts.items()))
