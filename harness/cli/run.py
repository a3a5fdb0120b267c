"""``harness run``: every scenario x seed against one target, then the reports.

A ``leak`` finding fails the run (exit 1); a ``hazard`` only with ``--strict`` or
``[tool.harness] strict = true`` in the ``pyproject.toml`` of the current directory.

The target is loaded and described once; each run starts and stops it. ``findings.json`` is
rewritten as each run finishes, so a run that is interrupted or fails half way leaves the runs
that finished on disk; ``trace.json`` and ``report.html`` follow at the end (or at the
interruption). Exit codes: 0 no findings, 1 findings, 2 a usage or target error.
"""

from __future__ import annotations

import argparse
import secrets
import sys
from collections.abc import Callable
from typing import Any

from harness.cli._options import (
    DEFAULT_REPORT,
    DEFAULT_STRATEGY,
    DEFAULT_USERS,
    EXIT_CLEAN,
    EXIT_FINDINGS,
    add_target_options,
    check_strategy,
    check_users,
    parse_seeds,
    prepare_report_dir,
    scenario_names,
)
from harness.model import RunResult

__all__ = ["COMMANDS", "add_commands", "command_run"]


def add_commands(commands: Any) -> None:
    """Register ``run`` on the ``harness`` sub-command parser."""
    parser = commands.add_parser(
        "run",
        help="run scenarios against a target and report findings",
        description="Run scenarios against a target and report findings. "
        "Exit codes: 0 no findings, 1 findings (leaks; hazards too with --strict), 2 usage or "
        "target error.",
    )
    add_target_options(
        parser, users=DEFAULT_USERS, strategy=DEFAULT_STRATEGY, report=DEFAULT_REPORT
    )
    parser.add_argument("--seed", type=int, default=None, help="one seed (default 0)")
    parser.add_argument("--seeds", default=None, help="an inclusive range of seeds, A..B")
    parser.add_argument(
        "--salt",
        default=None,
        help="mixed into the seed for fresh ids (default: random for ws:// targets)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print findings.json to stdout instead of the summary"
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="fail (exit 1) on hazards too, not only on leaks (also: [tool.harness] strict = "
        "true in pyproject.toml)",
    )


def command_run(args: argparse.Namespace) -> int:
    """``harness run``: load the target once, run every scenario x seed, write the reports."""
    from rich.console import Console

    from harness.reporting import TerminalReporter, write_findings, write_reports
    from harness.runner import run
    from harness.scenarios import build
    from harness.settings import failing as failing_findings
    from harness.settings import load_settings
    from harness.targets import describe, load_target

    check_users(args.users)
    check_strategy(args.strategy)
    strict = args.strict or load_settings().strict
    seeds = parse_seeds(args.seed, args.seeds)
    names = scenario_names(args.scenario)
    target = load_target(args.target, fault=args.fault)  # fail fast (exit 2) on a bad target
    info = describe(target)
    prepare_report_dir(args.report)
    reporter = TerminalReporter(Console(stderr=args.json))
    salt = args.salt
    if salt is None and "live_roots" not in info.capabilities:
        # A remote server remembers every thread and run id it saw: fresh ids for every run.
        salt = secrets.token_hex(4)
        reporter.message(f"remote target: ids salted with --salt {salt} (in the replay command)")
    findings_path = args.report / "findings.json"
    results: list[RunResult] = []

    def finish() -> None:
        if results:
            write_reports(args.report, results)

    try:
        for name in names:
            for seed in seeds:
                scenario = build(name, seed, args.users, salt=salt or "")
                total = sum(len(p.turns) + len(p.reopen_turns) for p in scenario.sessions)
                reporter.run_started(name, seed, args.strategy, len(scenario.users), total)
                result = run(
                    target,
                    scenario,
                    strategy=args.strategy,
                    progress=reporter.turn_finished,
                    target_spec=args.target,
                    info=info,
                )
                reporter.run_finished(result)
                results.append(result)
                write_findings(findings_path, results)  # what finished is never lost
    except BaseException:
        finish()
        if results:
            print(
                f"harness run: {len(results)} finished run(s) written to {findings_path}",
                file=sys.stderr,
            )
        raise
    finish()
    if args.json:
        sys.stdout.write(findings_path.read_text(encoding="utf-8"))
        sys.stdout.write("\n")
    else:
        reporter.summary(results, strict=strict)
        reporter.message(f"reports: {findings_path}  {args.report / 'report.html'}")
    fails = any(failing_findings(r.findings, strict=strict) for r in results)
    return EXIT_FINDINGS if fails else EXIT_CLEAN


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {"run": command_run}
