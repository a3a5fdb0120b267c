"""``harness explore``, ``harness replay`` and ``harness shrink``.

* explore: try seeds (schedules) until a finding or the time budget ends;
* replay: re-execute the run a findings file describes and confirm its findings;
* shrink: remove users, sessions, turns and steps while the finding persists, and write the
  smallest failing scenario as a new findings file.

The budget and the rate figures use the wall clock: they are about the engineer's time, not
about the run, which stays a pure function of (scenario, seed, strategy).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness.errors import UsageError
from harness.model import RunResult, Scenario, SessionPlan

__all__ = ["COMMANDS", "add_commands", "explore", "shrink_scenario"]

EXIT_CLEAN, EXIT_FINDINGS = 0, 1


def add_commands(commands: Any) -> None:
    """Register explore, replay and shrink on the ``harness`` sub-command parser."""
    explore_parser = commands.add_parser("explore", help="search seeds and schedules for a finding")
    explore_parser.add_argument("--target", default="reference")
    explore_parser.add_argument("--scenario", default=None, help="name(s), comma-separated, or all")
    explore_parser.add_argument("--users", type=int, default=8)
    explore_parser.add_argument(
        "--strategy", default="pct", help="fifo, random or pct (default pct)"
    )
    explore_parser.add_argument(
        "--budget", type=float, default=60.0, help="seconds to search (default 60)"
    )
    explore_parser.add_argument("--start-seed", type=int, default=0)
    explore_parser.add_argument("--fault", default=None)
    explore_parser.add_argument("--report", type=Path, default=Path("reports") / "explore")
    replay_parser = commands.add_parser("replay", help="re-execute a findings file and confirm it")
    replay_parser.add_argument("findings", type=Path)
    shrink_parser = commands.add_parser("shrink", help="smallest scenario that still fails")
    shrink_parser.add_argument("findings", type=Path)
    shrink_parser.add_argument(
        "--output", type=Path, default=None, help="default: FINDINGS.shrunk.json"
    )
    shrink_parser.add_argument(
        "--reseed",
        type=int,
        default=16,
        help="seeds to try on a smaller candidate before giving it up (default 16; 0 = never)",
    )


def explore(
    scenarios: list[str],
    *,
    users: int,
    strategy: str,
    budget: float,
    start_seed: int = 0,
    target: str = "reference",
    fault: str | None = None,
    on_try: Callable[[RunResult, int, float], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    max_tries: int | None = None,
) -> tuple[RunResult | None, int, float]:
    """Try seeds from ``start_seed`` over ``scenarios`` until a finding or ``budget`` seconds.

    ``max_tries`` also bounds the number of schedules (to compare strategies on equal counts).

    Returns:
        (the first failing result or None, schedules tried, seconds spent).
    """
    from harness.runner import run
    from harness.scenarios import build

    began = clock()
    tried = 0
    for seed in _seeds(start_seed):
        for name in scenarios:
            if (tried and clock() - began >= budget) or (
                max_tries is not None and tried >= max_tries
            ):
                return None, tried, clock() - began
            result = run(target, build(name, seed, users), strategy=strategy, fault=fault)
            tried += 1
            if on_try is not None:
                on_try(result, tried, clock() - began)
            if result.findings:
                return result, tried, clock() - began
    raise AssertionError("unreachable: seeds are endless")  # pragma: no cover


def _seeds(start: int) -> Iterator[int]:
    seed = start
    while True:
        yield seed
        seed += 1


def command_explore(args: argparse.Namespace) -> int:
    from rich.console import Console

    from harness.cli import STRATEGIES, _prepare_report_dir, _scenario_names
    from harness.reporting import write_findings, write_html, write_trace

    if args.strategy not in STRATEGIES:
        raise UsageError(f"--strategy={args.strategy!r} is not one of {', '.join(STRATEGIES)}")
    if args.budget <= 0:
        raise UsageError(f"--budget={args.budget!r} must be a positive number of seconds")
    names = _scenario_names(args.scenario)
    _prepare_report_dir(args.report)  # an unusable directory fails now, not after the search
    # soft_wrap: a replay command is copied whole, never broken at the terminal's width.
    console = Console(soft_wrap=True)

    def progress(result: RunResult, tried: int, spent: float) -> None:
        rate = tried / spent if spent > 0 else 0.0
        status = f"{len(result.findings)} finding(s)" if result.findings else "clean"
        console.print(
            f"[{tried:>5}] {result.scenario} seed={result.seed} {result.strategy}: {status}"
            f"   {rate:.1f} schedules/s",
            highlight=False,
        )

    found, tried, spent = explore(
        names,
        users=args.users,
        strategy=args.strategy,
        budget=args.budget,
        start_seed=args.start_seed,
        target=args.target,
        fault=args.fault,
        on_try=progress,
    )
    rate = tried / spent if spent > 0 else 0.0
    if found is None:
        console.print(f"no finding in {tried} schedules ({spent:.1f}s, {rate:.1f} schedules/s)")
        return EXIT_CLEAN
    write_findings(args.report / "findings.json", [found])
    write_trace(args.report / "trace.json", found.trace)
    write_html(args.report / "report.html", [found])
    kinds = sorted({f.kind for f in found.findings})
    console.print(
        f"found {', '.join(kinds)} after {tried} schedules ({spent:.1f}s, {rate:.1f} schedules/s)\n"
        f"replay: {found.replay}\n"
        f"   or:  harness replay {args.report / 'findings.json'}",
        highlight=False,
    )
    return EXIT_FINDINGS


def _rerun(spec: Any, scenario: Scenario) -> RunResult:
    from harness.runner import run

    return run(spec.target, scenario, strategy=spec.strategy, fault=spec.fault)


def command_replay(args: argparse.Namespace) -> int:
    from harness.reporting import read_findings

    recorded = read_findings(args.findings)
    scenario = _scenario_of(recorded)
    result = _rerun(recorded, scenario)
    expected = sorted({f["kind"] if isinstance(f, dict) else f.kind for f in recorded.findings})
    found = sorted({f.kind for f in result.findings})
    same_trace = result.trace_digest == recorded.trace_digest
    replayed = (
        f"replayed {recorded.scenario} seed={recorded.seed} strategy={recorded.strategy} "
        f"on {recorded.target}"
    )
    if not result.trace.deterministic:
        # A remote target, or one declaring deterministic=False (wall time, uuid4): its trace
        # differs from run to run by nature, so digests prove nothing; the findings are compared.
        print(
            f"{replayed}: best effort (the target is not deterministic): comparing findings, "
            "not trace digests"
        )
    else:
        print(
            f"{replayed}: trace {'identical' if same_trace else 'differs'} "
            f"({result.trace_digest[:12]} vs recorded {str(recorded.trace_digest)[:12]})"
        )
    if expected and set(expected) <= set(found):
        print(f"reproduced: {', '.join(expected)}")
        return EXIT_FINDINGS
    if not expected:
        print("the recorded run had no findings; the replay has " + (", ".join(found) or "none"))
        return EXIT_FINDINGS if found else EXIT_CLEAN
    why = (
        "the target is remote or not deterministic, so the schedule cannot be forced"
        if (not result.trace.deterministic)
        else "the trace differs: the target or the harness changed since the file was written"
        if (not same_trace)
        else "same trace, but the detectors changed"
    )
    print(
        f"did not reproduce {', '.join(expected)} (found: {', '.join(found) or 'nothing'}): {why}"
    )
    return EXIT_CLEAN


def _scenario_of(recorded: Any) -> Scenario:
    from harness.errors import FindingsFileError
    from harness.serialization import from_data
    from harness.scenarios import build

    if recorded.scenario_spec is not None:
        spec = recorded.scenario_spec
        return spec if isinstance(spec, Scenario) else from_data(Scenario, spec)
    users = int((recorded.stats or {}).get("users", 0))
    if not users:
        raise FindingsFileError(
            f"{recorded!r} has neither scenario_spec nor stats.users: cannot rebuild the scenario"
        )
    return build(recorded.scenario, recorded.seed, users)


def shrink_scenario(
    scenario: Scenario,
    fails: Callable[[Scenario], bool],
    *,
    on_step: Callable[[Scenario], None] | None = None,
    reseed: int = 0,
) -> Scenario:
    """Greedily remove users, sessions, turns and plan steps while ``fails`` stays true.

    A smaller scenario schedules differently: the interleaving that broke the original may
    need another seed in the smaller one. With ``reseed`` > 0, a candidate that passes with its
    seed is tried with up to ``reseed`` more seeds, and kept (with the failing seed) if one of
    them fails: the result is a (scenario, seed) pair that fails, which is what replays.
    """
    current = scenario

    def attempt(candidate: Scenario) -> bool:
        nonlocal current
        if candidate == current or not candidate.sessions:
            return False
        for offset in range(reseed + 1):
            variant = replace(candidate, seed=candidate.seed + offset) if offset else candidate
            if fails(variant):
                current = variant
                if on_step is not None:
                    on_step(variant)
                return True
        return False

    changed = True
    while changed:
        changed = False
        # Users, in halves then one by one.
        chunk = max(1, len(current.users) // 2)
        while chunk >= 1:
            start = 0
            while start < len(current.users):
                drop = {u.user_id for u in current.users[start : start + chunk]}
                if len(drop) < len(current.users) and attempt(_without_users(current, drop)):
                    changed = True
                else:
                    start += chunk
            chunk //= 2
        for index in range(len(current.sessions) - 1, -1, -1):
            if index < len(current.sessions):
                sessions = current.sessions[:index] + current.sessions[index + 1 :]
                changed |= attempt(replace(current, sessions=sessions))
        for index in range(len(current.sessions)):
            for turn_index in range(len(current.sessions[index].turns) - 1, -1, -1):
                plan = current.sessions[index]
                turns = plan.turns[:turn_index] + plan.turns[turn_index + 1 :]
                if turns and attempt(_with_session(current, index, replace(plan, turns=turns))):
                    changed = True
            for turn_index in range(len(current.sessions[index].turns)):
                for step_index in range(
                    len(current.sessions[index].turns[turn_index].plan) - 1, -1, -1
                ):
                    plan = current.sessions[index]
                    turn = plan.turns[turn_index]
                    steps = turn.plan[:step_index] + turn.plan[step_index + 1 :]
                    edited = list(plan.turns)
                    edited[turn_index] = replace(turn, plan=steps)
                    if attempt(_with_session(current, index, replace(plan, turns=tuple(edited)))):
                        changed = True
    return current


def _without_users(scenario: Scenario, drop: set[str]) -> Scenario:
    return replace(
        scenario,
        users=tuple(u for u in scenario.users if u.user_id not in drop),
        sessions=tuple(s for s in scenario.sessions if s.user_id not in drop),
        heavy_users=tuple(u for u in scenario.heavy_users if u not in drop),
    )


def _with_session(scenario: Scenario, index: int, plan: SessionPlan) -> Scenario:
    sessions = list(scenario.sessions)
    sessions[index] = plan
    return replace(scenario, sessions=tuple(sessions))


def command_shrink(args: argparse.Namespace) -> int:
    from harness.reporting import read_findings, write_findings

    recorded = read_findings(args.findings)
    kinds = {f["kind"] if isinstance(f, dict) else f.kind for f in recorded.findings}
    if not kinds:
        raise UsageError(f"{args.findings}: the run it records has no findings; nothing to shrink")
    scenario = _scenario_of(recorded)
    last: dict[str, RunResult] = {}
    deterministic: list[bool] = []

    def fails(candidate: Scenario) -> bool:
        result = _rerun(recorded, candidate)
        if not deterministic:
            deterministic.append(result.trace.deterministic)
        if kinds & {f.kind for f in result.findings}:
            last["result"] = result
            return True
        return False

    def report(candidate: Scenario) -> None:
        print(f"still failing: {_size(candidate)}")

    reproduced = fails(scenario)
    if not deterministic[0]:
        print(
            "best effort: the target is not deterministic (remote, or deterministic=False): a "
            f"candidate fails when it gives a recorded finding kind ({', '.join(sorted(kinds))}), "
            "trace digests are not compared, and a smaller scenario may pass by chance"
        )
    if not reproduced:
        print(f"{args.findings}: the recorded finding did not reproduce; nothing to shrink.")
        print("Run harness replay on it to see why.")
        return EXIT_CLEAN
    smallest = shrink_scenario(scenario, fails, on_step=report, reseed=args.reseed)
    result = last["result"]  # the run of the last candidate that failed: the smallest one
    output = args.output or args.findings.with_name(args.findings.stem + ".shrunk.json")
    command = f"harness replay {output}"
    shrunk = replace(
        result,
        scenario=f"{recorded.scenario}-shrunk",
        replay=command,
        findings=tuple(replace(f, replay=command) for f in result.findings),
        trace=replace(result.trace, scenario_spec=smallest),
    )
    write_findings(output, [shrunk])
    print(f"smallest failing scenario: {_size(smallest)} -> {output}\nreplay: {command}")
    return EXIT_FINDINGS


def _size(scenario: Scenario) -> str:
    turns = [turn for session in scenario.sessions for turn in session.turns]
    steps = sum(len(turn.plan) for turn in turns)
    return (
        f"{len(scenario.users)} users, {len(scenario.sessions)} sessions, {len(turns)} turns, "
        f"{steps} steps (seed {scenario.seed})"
    )


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "explore": command_explore,
    "replay": command_replay,
    "shrink": command_shrink,
}
