"""The ``harness`` command line (DESIGN.md section 6, pinned).

``harness run`` exit codes: 0 no findings, 1 findings, 2 usage or target error.
"""

from __future__ import annotations

import argparse
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path

from harness.errors import HarnessError, UsageError

__all__ = ["main", "parse_seeds"]

DEFAULT_USERS = 100
DEFAULT_STRATEGY = "random"
DEFAULT_REPORT = Path("reports") / "latest"
STRATEGIES = ("fifo", "random", "pct")

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def parse_seeds(seed: int | None, seeds: str | None) -> list[int]:
    """``--seed N`` or ``--seeds A..B`` (inclusive) as a list of seeds.

    Raises:
        UsageError: both given, a negative seed, or a range that is not ``A..B`` with integers
            ``0 <= A <= B``.
    """
    if seed is not None and seeds is not None:
        raise UsageError("--seed and --seeds were both given; use one (--seeds 0..19 for a range)")
    if seed is not None and seed < 0:
        raise UsageError(f"--seed={seed!r} must be an integer >= 0, e.g. --seed 7")
    if seeds is None:
        return [0 if seed is None else seed]
    start, sep, end = seeds.partition("..")
    try:
        low, high = int(start), int(end)
    except ValueError:
        low = high = -1
    if not sep or low < 0 or high < low:
        raise UsageError(
            f"--seeds={seeds!r} is not a range A..B of integers with 0 <= A <= B; "
            "e.g. --seeds 0..19"
        )
    return list(range(low, high + 1))


def _scenario_names(value: str | None) -> list[str]:
    from harness.scenarios import DEFAULT_SCENARIOS, get_generator, scenario_names

    if value is None:
        return list(DEFAULT_SCENARIOS)
    if value == "all":
        return list(scenario_names())
    names = [part.strip() for part in value.split(",") if part.strip()]
    if not names:
        raise UsageError(
            f"--scenario={value!r} names no scenario. Give one or more names separated by "
            f"commas, or all. Known scenarios: {', '.join(scenario_names())}."
        )
    for name in names:
        get_generator(name)  # raises UnknownScenarioError with the known names
    return names


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target", default="reference", help="reference (default), ws://... or module:attr"
    )
    from harness_backend.faults import FAULTS
    from harness.scenarios import DEFAULT_SCENARIOS, scenario_names

    parser.add_argument(
        "--scenario",
        default=None,
        help=f"one of {', '.join(scenario_names())}; several separated by commas; or all "
        f"(default: {', '.join(DEFAULT_SCENARIOS)})",
    )
    parser.add_argument(
        "--users",
        type=int,
        default=DEFAULT_USERS,
        help=f"simulated users (default {DEFAULT_USERS})",
    )
    parser.add_argument("--seed", type=int, default=None, help="one seed (default 0)")
    parser.add_argument("--seeds", default=None, help="an inclusive range of seeds, A..B")
    parser.add_argument(
        "--strategy", default=DEFAULT_STRATEGY, help=f"scheduling strategy: {', '.join(STRATEGIES)}"
    )
    parser.add_argument(
        "--fault",
        default=None,
        help=f"switch on a reference-backend fault: {', '.join(FAULTS)}",
    )
    parser.add_argument(
        "--salt",
        default=None,
        help="mixed into the seed for fresh ids (default: random for ws:// targets)",
    )
    parser.add_argument("--report", type=Path, default=DEFAULT_REPORT, help="report directory")
    parser.add_argument(
        "--json", action="store_true", help="print findings.json to stdout instead of the summary"
    )


def _check_run_options(args: argparse.Namespace) -> None:
    if args.users < 1:
        raise UsageError(f"--users={args.users!r} must be at least 1 (isolation needs >= 2 users)")
    if args.strategy not in STRATEGIES:
        from harness.errors import did_you_mean

        raise UsageError(
            f"--strategy={args.strategy!r} is not one of {', '.join(STRATEGIES)}."
            f"{did_you_mean(args.strategy, STRATEGIES)}"
        )


def _prepare_report_dir(directory: Path) -> None:
    """Create the report directory before any run, so an unusable one fails fast (exit 2)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"--report={str(directory)!r} cannot be used as a report directory "
            f"({exc.strerror or exc}). Pass a directory that can be created and written, "
            "e.g. --report reports/mine."
        ) from exc


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="harness", description="Prove that a multi-tenant agent backend keeps its users apart."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = commands.add_parser("run", help="run scenarios against a target and report findings")
    _add_run_options(run)
    run.add_argument(
        "--trace",
        choices=("none", "failing", "full"),
        default="failing",
        help="write trace.json: never, only when a run has findings (default), or always",
    )
    report = commands.add_parser("report", help="write report.html for a report directory")
    report.add_argument("directory", type=Path, help="a directory holding findings.json")
    from harness.explore import add_commands

    add_commands(commands)
    from harness.bench_cli import add_commands as add_bench_commands

    add_bench_commands(commands)
    return parser


def command_run(args: argparse.Namespace) -> int:
    """``harness run``: every scenario x seed, one fresh target each, then the reports."""
    from rich.console import Console

    from harness.reporting import TerminalReporter, write_findings, write_html, write_trace
    from harness.runner import run
    from harness.target import describe, load_target
    from harness.scenarios import build

    _check_run_options(args)
    seeds = parse_seeds(args.seed, args.seeds)
    names = _scenario_names(args.scenario)
    target = load_target(args.target, fault=args.fault)  # fail fast (exit 2) on a bad target
    _prepare_report_dir(args.report)
    console = Console(stderr=args.json)
    reporter = TerminalReporter(console)
    salt = args.salt
    if salt is None and "live_roots" not in describe(target).capabilities:
        # A remote server remembers every thread and run id it saw: fresh ids for every run.
        salt = secrets.token_hex(4)
        reporter.message(f"remote target: ids salted with --salt {salt} (in the replay command)")
    del target
    results = []
    for name in names:
        for seed in seeds:
            scenario = build(name, seed, args.users, salt=salt or "")
            total = sum(len(p.turns) + len(p.reopen_turns) for p in scenario.sessions)
            reporter.run_started(name, seed, args.strategy, len(scenario.users), total)
            result = run(
                args.target,
                scenario,
                strategy=args.strategy,
                fault=args.fault,
                progress=reporter.turn_finished,
            )
            reporter.run_finished(result)
            results.append(result)
    findings_path = args.report / "findings.json"
    write_findings(findings_path, results)
    failing = next((r for r in results if r.findings), results[0])
    trace_mode = getattr(args, "trace", "failing")
    if trace_mode == "full" or (trace_mode == "failing" and failing.findings):
        write_trace(args.report / "trace.json", failing.trace)
    else:  # never leave an older run's trace beside these findings
        (args.report / "trace.json").unlink(missing_ok=True)
    write_html(args.report / "report.html", results)
    if args.json:
        sys.stdout.write(findings_path.read_text(encoding="utf-8"))
        sys.stdout.write("\n")
    else:
        reporter.summary(results)
        reporter.message(f"reports: {findings_path}  {args.report / 'report.html'}")
    return EXIT_FINDINGS if any(r.findings for r in results) else EXIT_CLEAN


def command_report(args: argparse.Namespace) -> int:
    """``harness report DIR``: (re)write DIR/report.html from DIR/findings.json and trace.json."""
    from harness.reporting import read_findings, read_trace, write_html

    directory: Path = args.directory
    findings = read_findings(directory / "findings.json")
    trace_path = directory / "trace.json"
    trace = read_trace(trace_path) if trace_path.exists() else None
    write_html(directory / "report.html", findings, trace=trace)
    print(f"wrote {directory / 'report.html'}")
    return EXIT_FINDINGS if findings.findings else EXIT_CLEAN


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``harness`` console script; returns the exit code.

    With no command, or options but no command, it runs ``harness run``.
    """
    parser = _build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    if words and words[0].startswith("-") and words[0] not in ("-h", "--help"):
        words.insert(0, "run")  # `harness --users 10` is `harness run --users 10`
    args = parser.parse_args(words)
    handlers = {"run": command_run, "report": command_report}
    from harness.explore import COMMANDS

    handlers.update(COMMANDS)
    from harness.bench_cli import COMMANDS as BENCH_COMMANDS

    handlers.update(BENCH_COMMANDS)
    if args.command is None:
        args = parser.parse_args(["run"])
    try:
        return handlers[args.command](args)
    except HarnessError as exc:
        print(f"harness {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"harness {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
