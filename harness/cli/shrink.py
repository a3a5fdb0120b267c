"""``harness shrink FINDINGS.json``: the smallest scenario that still fails.

Removes users, sessions, turns and plan steps while the finding persists, and writes the
smallest failing scenario as a new findings file. Exit codes: 1 after writing a smaller failing
scenario, 0 when the finding did not reproduce, 2 on an unreadable file or one without findings.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness.cli._options import EXIT_CLEAN, EXIT_FINDINGS
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

    def fails(candidate: Scenario) -> bool:
        result = rerun(recorded, candidate)
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


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {"shrink": command_shrink}
