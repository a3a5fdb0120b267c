"""``harness shrink FINDINGS.json``: the smallest scenario that still fails.

Removes users, sessions, turns and plan steps while the finding persists, and writes the
smallest failing scenario as a new findings file. Each candidate is a full run, so a search can
take long: it prints its progress every few candidates and stops at ``--budget`` seconds (real
time, default 300), writing the smallest failing scenario found so far. Exit codes: 1 after
writing a smaller failing scenario, 0 when the finding did not reproduce, 2 on an unreadable
file or one without findings.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness.cli._options import EXIT_CLEAN, EXIT_FINDINGS, seconds
from harness.cli.replay import rerun, scenario_of
from harness.errors import UsageError
from harness.model import RunResult, Scenario
from harness.runner import shrink_scenario

__all__ = ["COMMANDS", "add_commands", "command_shrink"]


def add_commands(commands: Any) -> None:
    """Register ``shrink`` on the ``harness`` sub-command parser."""
    parser = commands.add_parser(
        "shrink",
        help="smallest scenario that still fails",
        description="Write the smallest scenario that still fails. Exit codes: 1 a smaller "
        "failing scenario was written, 0 the finding did not reproduce, 2 unreadable file.",
    )
    parser.add_argument("findings", type=Path, help="a findings.json with findings")
    parser.add_argument("--output", type=Path, default=None, help="default: FINDINGS.shrunk.json")
    parser.add_argument(
        "--reseed",
        type=int,
        default=16,
        help="seeds to try on a smaller candidate before giving it up (default 16; 0 = never)",
    )
    parser.add_argument(
        "--budget",
        type=seconds,
        default=DEFAULT_BUDGET,
        help="real seconds the search may take; past it the smallest failing scenario found so "
        f"far is written (default {DEFAULT_BUDGET:g})",
    )


#: Real seconds ``harness shrink`` searches before it writes the smallest scenario so far.
DEFAULT_BUDGET = 300.0
#: Candidates between two progress lines.
PROGRESS_EVERY = 10


class _OutOfTime(Exception):
    """The search passed its budget (caught in :func:`command_shrink`)."""


def command_shrink(args: argparse.Namespace) -> int:
    from harness.reporting import read_findings, write_findings

    if args.reseed < 0:
        raise UsageError(f"--reseed={args.reseed!r} must be an integer >= 0 (0: never reseed)")
    recorded = read_findings(args.findings)
    kinds = {f["kind"] if isinstance(f, dict) else f.kind for f in recorded.findings}
    if not kinds:
        raise UsageError(f"{args.findings}: the run it records has no findings; nothing to shrink")
    scenario = scenario_of(recorded)
    last: dict[str, RunResult] = {}
    deterministic: list[bool] = []
    smallest = scenario
    started = time.monotonic()
    tried = 0

    def fails(candidate: Scenario) -> bool:
        nonlocal tried
        elapsed = time.monotonic() - started
        if tried and elapsed > args.budget:
            raise _OutOfTime
        tried += 1
        if tried % PROGRESS_EVERY == 0:
            print(
                f"shrink: tried {tried} candidates in {elapsed:.0f}s of --budget "
                f"{args.budget:g}s; smallest so far: {_size(smallest)}",
                flush=True,
            )
        result = rerun(recorded, candidate)
        if not deterministic:
            deterministic.append(result.trace.deterministic)
        if kinds & {f.kind for f in result.findings}:
            last["result"] = result
            return True
        return False

    def report(candidate: Scenario) -> None:
        nonlocal smallest
        smallest = candidate
        print(f"still failing: {_size(candidate)}", flush=True)

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
    try:
        smallest = shrink_scenario(scenario, fails, on_step=report, reseed=args.reseed)
    except _OutOfTime:
        print(
            f"shrink: --budget {args.budget:g}s spent after {tried} candidates; writing the "
            "smallest failing scenario found so far (run shrink on it to go on)."
        )
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


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {"shrink": command_shrink}
