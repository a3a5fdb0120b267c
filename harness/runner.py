"""Drive a Scenario against a Target and record a Trace.

For each session plan the runner opens a session at its arrival time, runs its turns (one after
another, or together through ``Session.burst``), closes it, and meanwhile records every event,
every outcome and what the walks of the live roots found. Each turn has a timeout (a hang becomes
a ``timeout`` outcome, then a ``hang`` finding); an exception from the target becomes a ``crash``
record; the harness itself never hangs.

In-process targets run on the harness's seeded event loop with a virtual clock
(:mod:`harness.scheduling`), so the same (scenario, seed, strategy) gives the same Trace.
Targets without live roots (remote servers) run on the stock asyncio loop in real time.

Example:
    >>> from harness.runner import run
    >>> from harness.scenarios import build
    >>> result = run("reference", build("golden_path", seed=0, users=4), strategy="random")
    >>> result.findings
    ()
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from harness._driver import RunProgress as RunProgress
from harness._driver import ScenarioDriver
from harness.detectors import run_detectors
from harness.model import Finding, RunResult, Scenario, ScheduleRecord, Trace
from harness.serialization import digest
from harness.target import Target, describe, load_target

__all__ = ["RunProgress", "estimate_steps", "replay_command", "run", "run_async"]


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


async def run_async(
    target: Target,
    scenario: Scenario,
    *,
    strategy: str = "asyncio",
    observe: bool = True,
    progress: RunProgress | None = None,
    schedule: ScheduleRecord | None = None,
) -> Trace:
    """Drive ``scenario`` against ``target`` on the running loop and return its Trace."""
    state = ScenarioDriver(target, scenario, observe=observe, progress=progress)
    await state.drive()
    return state.trace(schedule, strategy, state.info.name)


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
) -> RunResult:
    """Run one scenario against a target and detect findings.

    Args:
        target: a Target, or a spec for :func:`harness.target.load_target`.
        scenario: what to run; its ``seed`` seeds the scheduler too.
        strategy: ``fifo``, ``random`` or ``pct`` (in-process targets); remote targets always run
            on the stock loop and say so in the notes.
        fault: a reference-backend fault (with a spec target only).
        detectors: False runs the scenario without observing or detecting (for benchmarks).

    Raises:
        TargetLoadError: the spec names nothing loadable.
        TargetError: the target failed to start.
    """
    spec = target_spec or (target if isinstance(target, str) else "reference")
    if isinstance(target, str):
        target = load_target(target, fault=fault, options=target_options)
    info = describe(target)
    in_process = "live_roots" in info.capabilities
    notes: list[str] = []
    options = dict(strategy_options or {})
    if in_process and strategy == "pct" and "steps" not in options:
        options["steps"] = estimate_steps(target, scenario)
    if in_process:
        from harness.scheduling import run as run_seeded

        trace, schedule = run_seeded(
            run_async(target, scenario, strategy=strategy, observe=detectors, progress=progress),
            strategy=strategy,
            seed=scenario.seed,
            strategy_options=options,
        )
        trace = replace(trace, schedule=schedule)
    else:
        notes.append(
            f"remote target: ran on the stock asyncio loop in real time; strategy {strategy!r} "
            "does not apply and replay is best-effort"
        )
        trace = asyncio.run(
            run_async(target, scenario, strategy="asyncio", observe=detectors, progress=progress)
        )
        trace = replace(trace, deterministic=False, notes=trace.notes + tuple(notes))
    if not info.deterministic and in_process:
        notes.append("target declares deterministic=False: replay is best-effort")
        trace = replace(trace, notes=(*trace.notes, notes[-1]))
    # The strategy asked for, not the one that ran: a remote run records "asyncio", which
    # `harness run` does not accept, and replays best-effort anyway.
    command = replay_command(
        scenario, seed=scenario.seed, strategy=strategy, target=spec, fault=fault
    )
    findings: tuple[Finding, ...] = ()
    if detectors:
        allowed = tuple(info.event_rules.get("allow_duplicates", ()))
        detected = run_detectors(trace, only=only, allow_duplicates=allowed)
        findings = tuple(replace(f, replay=command) for f in detected)
    turns = len(trace.turns)
    stats: dict[str, Any] = {
        "users": len(scenario.users),
        "sessions": len(trace.sessions),
        "turns": turns,
        "events": sum(len(s.events) for s in trace.sessions),
        "checkpoints": len(trace.checkpoints),
        **{f"observed_{name}": count for name, count in trace.observed.items()},
        "scheduler_steps": trace.schedule.steps if trace.schedule else 0,
        # Loop seconds from the first session to the last turn: virtual on the seeded loop
        # (which starts at 0), real over the wire (whose loop clock starts anywhere).
        "virtual_seconds": _span(trace),
        "statuses": _count(t.outcome.status for t in trace.turns),
        "findings_by_kind": _count(f.kind for f in findings),
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


def _span(trace: Trace) -> float:
    end = max((t.ended_at for t in trace.turns), default=0.0)
    start = min((s.opened_at for s in trace.sessions), default=0.0)
    return round(max(0.0, end - start), 6) if trace.strategy == "asyncio" else end


def estimate_steps(target: Target, scenario: Scenario) -> int:
    """How many scheduling points ``scenario`` has: a PCT run without change points.

    PCT draws its priority change points over the run's scheduling points (steps where more
    than one task could run); drawn over a wrong estimate they fall past the end (too high) or
    bunch at the start (too low) and the search goes blind.
    """
    from harness.scheduling import run as run_seeded

    _, schedule = run_seeded(
        run_async(target, scenario, strategy="pct", observe=False),
        strategy="pct",
        seed=scenario.seed,
        strategy_options={"depth": 1},
    )
    return max(1, len(schedule.decisions))


def _count(values: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return dict(sorted(counts.items()))
