"""``harness run``: every scenario x seed against one target, then the reports.

A ``leak`` finding fails the run (exit 1); a ``hazard`` only with ``--strict`` or
``[tool.harness] strict = true`` in the ``pyproject.toml`` of the current directory.

The target is loaded and described once; each run starts and stops it. ``findings.json`` is
rewritten as each run finishes, so a run that is interrupted or fails half way leaves the runs
that finished on disk; ``report.html`` and, by ``--trace`` (default: only when a run has
findings), ``trace.json`` follow at the end (or at the interruption). A run that fails on a
target error (``start()`` raised or never returned, a refused handshake) is written too, marked
``stats["failed"]``, before the exit code 2. Exit codes: 0 no findings, 1 findings (leaks;
hazards too with ``--strict``), 2 a usage or target error, 3 the harness itself failed.
Options come from ``[tool.harness]`` and ``HARNESS_*`` first (:mod:`harness.cli._config`).
"""

from __future__ import annotations

import argparse
import contextlib
import secrets
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from harness.cli._options import (
    DEFAULT_REPORT,
    DEFAULT_STRATEGY,
    DEFAULT_USERS,
    EXIT_CLEAN,
    EXIT_CODES_HELP,
    EXIT_ERROR,
    EXIT_FINDINGS,
    add_bound_options,
    add_target_options,
    check_strategy,
    check_users,
    parse_seeds,
    prepare_report_dir,
    scenario_names,
)
from harness.errors import TargetError
from harness.model import RunResult

__all__ = ["COMMANDS", "add_commands", "command_run"]


def add_commands(commands: Any) -> None:
    """Register ``run`` on the ``harness`` sub-command parser."""
    parser = commands.add_parser(
        "run",
        help="run scenarios against a target and report findings",
        description="Run scenarios against a target and report findings. "
        "Defaults come from [tool.harness] in pyproject.toml, then HARNESS_<KEY> variables; "
        f"the command line wins. {EXIT_CODES_HELP}",
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
        "--json",
        action="store_true",
        help="print findings.json to stdout instead of the summary (the adapter's own stdout "
        "goes to stderr meanwhile)",
    )
    parser.add_argument(
        "--trace",
        choices=("none", "failing", "full"),
        default="failing",
        help="write trace.json: never, only when a run has findings (default), or always",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="fail (exit 1) on hazards too, not only on leaks (also: [tool.harness] strict = "
        "true in pyproject.toml)",
    )
    add_bound_options(parser)
    parser.set_defaults(config_seeds=None)


def command_run(args: argparse.Namespace) -> int:
    """``harness run``: load the target once, run every scenario x seed, write the reports."""
    from rich.console import Console

    from harness.reporting import TerminalReporter, write_findings, write_reports
    from harness.runner import Bounds, run, sync_call
    from harness.scenarios import build
    from harness.settings import failing as failing_findings
    from harness.settings import load_settings
    from harness.targets import describe, load_target

    check_users(args.users)
    check_strategy(args.strategy)
    strict = args.strict or load_settings().strict
    if args.seed is None and args.seeds is None:  # [tool.harness] seeds: the CLI wins
        seeds = parse_seeds(None, args.config_seeds)
    else:
        seeds = parse_seeds(args.seed, args.seeds)
    names = scenario_names(args.scenario)
    bounds = Bounds(
        call_timeout=args.call_timeout,
        block_limit=args.block_limit,
        connect_rate=args.connect_rate,
    )
    with _stdout_to_stderr(args.json):
        # Fail fast (exit 2) on a bad target; a constructor that blocks is cut at the bound.
        target = sync_call(
            f"--target {args.target} (loading and constructing it)",
            lambda: load_target(args.target, fault=args.fault),
            args.call_timeout,
        )
        info = sync_call(
            f"{args.target}: reading limits() and adapter_objects()",
            lambda: describe(target),
            args.call_timeout,
        )
    prepare_report_dir(args.report)
    reporter = TerminalReporter(Console(stderr=args.json))
    salt = args.salt
    if salt is None and "live_roots" not in info.capabilities:
        # A remote server remembers every thread and run id it saw: fresh ids for every run.
        salt = secrets.token_hex(4)
        reporter.message(f"remote target: ids salted with --salt {salt} (in the replay command)")
    findings_path = args.report / "findings.json"
    results: list[RunResult] = []
    written: dict[int, dict[str, Any]] = {}  # each run's findings.json data, made once

    def finish() -> None:
        if not results:
            return
        failing = any(result.findings for result in results)
        trace = args.trace == "full" or (args.trace == "failing" and failing)
        write_reports(args.report, results, trace=trace, cache=written)
        if not trace:  # never leave an older run's trace beside these findings
            (args.report / "trace.json").unlink(missing_ok=True)

    heartbeat = _Heartbeat(args.heartbeat, enabled=not sys.stderr.isatty())
    try:
        with _stdout_to_stderr(args.json), heartbeat:
            for name in names:
                for seed in seeds:
                    scenario = build(name, seed, args.users, salt=salt or "")
                    if args.turn_timeout is not None:
                        scenario = replace(scenario, turn_timeout=args.turn_timeout)
                    total = sum(len(p.turns) + len(p.reopen_turns) for p in scenario.sessions)
                    reporter.run_started(name, seed, args.strategy, len(scenario.users), total)
                    heartbeat.run_started(f"{name} seed {seed}", total)

                    def progress(done: int, total: int) -> None:
                        heartbeat.turn_finished(done)
                        reporter.turn_finished(done, total)

                    try:
                        result = run(
                            target,
                            scenario,
                            strategy=args.strategy,
                            progress=progress,
                            target_spec=args.target,
                            info=info,
                            bounds=bounds,
                        )
                    except TargetError as exc:
                        if not isinstance(exc.result, RunResult):
                            raise
                        results.append(exc.result)
                        finish()
                        print(
                            f"harness run: error: {name} seed {seed} failed: {exc}\n"
                            f"harness run: {len(results) - 1} finished run(s) and the failed "
                            f"one (stats.failed) written to {findings_path}",
                            file=sys.stderr,
                        )
                        return EXIT_ERROR
                    reporter.run_finished(result)
                    results.append(result)
                    # What finished is never lost.
                    write_findings(findings_path, results, cache=written)
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


@contextlib.contextmanager
def _stdout_to_stderr(enabled: bool) -> Iterator[None]:
    """With ``--json``, stdout carries only findings.json: an adapter's prints go to stderr."""
    if not enabled:
        yield
        return
    with contextlib.redirect_stdout(sys.stderr):
        yield


class _Heartbeat:
    """A progress line every ``interval`` real seconds when stderr is not a terminal (CI logs,
    pipes), so a long run is visibly alive; a stuck one shows which run and how far it got."""

    def __init__(self, interval: float, *, enabled: bool) -> None:
        self.interval = interval
        self.enabled = enabled
        self.label = ""
        self.done = self.total = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_started(self, label: str, total: int) -> None:
        self.label, self.done, self.total = label, 0, total

    def turn_finished(self, done: int) -> None:
        self.done = done

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            print(
                f"harness run: still running {self.label}: {self.done}/{self.total} turns done",
                file=sys.stderr,
                flush=True,
            )

    def __enter__(self) -> _Heartbeat:
        if self.enabled:
            self._thread = threading.Thread(
                target=self._beat, name="harness-heartbeat", daemon=True
            )
            self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {"run": command_run}
