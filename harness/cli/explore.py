"""``harness explore``: try seeds (schedules) until a finding or the time budget ends.

The search itself is :func:`harness.runner.explore`; this module adds the options, the
progress lines and the report.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.cli._options import (
    EXIT_CLEAN,
    EXIT_FINDINGS,
    add_target_options,
    check_strategy,
    check_users,
    prepare_report_dir,
    scenario_names,
)
from harness.errors import UsageError
from harness.model import RunResult
from harness.runner import explore

__all__ = ["COMMANDS", "add_commands", "command_explore"]


def add_commands(commands: Any) -> None:
    """Register ``explore`` on the ``harness`` sub-command parser."""
    parser = commands.add_parser(
        "explore",
        help="search seeds and schedules for a finding",
        description="Search seeds and schedules for a finding until the time budget ends. "
        "Exit codes: 1 a failing schedule was found (written to --report), 0 the budget ran "
        "out, 2 usage or target error.",
    )
    add_target_options(parser, users=8, strategy="pct", report=Path("reports") / "explore")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds to search (default 60)")
    parser.add_argument(
        "--start-seed", type=int, default=0, help="the first seed tried (default 0)"
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="stop on hazards too, not only on leaks (also: [tool.harness] strict = true)",
    )


def command_explore(args: argparse.Namespace) -> int:
    from rich.console import Console

    from harness.reporting import write_reports
    from harness.settings import load_settings

    strict = args.strict or load_settings().strict
    check_users(args.users)
    check_strategy(args.strategy)
    if args.budget <= 0:
        raise UsageError(f"--budget={args.budget!r} must be a positive number of seconds")
    if args.start_seed < 0:
        raise UsageError(f"--start-seed={args.start_seed!r} must be an integer >= 0, e.g. 0")
    names = scenario_names(args.scenario)
    prepare_report_dir(args.report)  # an unusable directory fails now, not after the search
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
        strict=strict,
    )
    rate = tried / spent if spent > 0 else 0.0
    if found is None:
        console.print(f"no finding in {tried} schedules ({spent:.1f}s, {rate:.1f} schedules/s)")
        return EXIT_CLEAN
    write_reports(args.report, [found])
    kinds = sorted({f.kind for f in found.findings})
    console.print(
        f"found {', '.join(kinds)} after {tried} schedules ({spent:.1f}s, {rate:.1f} schedules/s)\n"
        f"replay: {found.replay}\n"
        f"   or:  harness replay {args.report / 'findings.json'}",
        highlight=False,
    )
    return EXIT_FINDINGS


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {"explore": command_explore}
