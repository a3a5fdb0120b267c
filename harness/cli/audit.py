"""``harness audit``: list the state a codebase can share between users, before any run.

Exit codes: 0 when no unsuppressed item reaches ``--fail-on`` (default ``warning``), 1 when one
does, 2 on a usage error (a missing path, an unreadable pyproject.toml, an unknown
``--fail-on``, a ``--runs`` directory without findings.json).

Example:
    $ harness audit myapp/
    $ harness audit myapp/ --sarif audit.sarif --fail-on error
    $ harness audit myapp/ --runs reports/latest --json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.errors import UsageError, did_you_mean

__all__ = ["COMMANDS", "add_commands", "command_audit"]


def add_commands(commands: Any) -> None:
    """Register ``audit`` on the ``harness`` sub-command parser."""
    parser = commands.add_parser(
        "audit", help="list module/class-level state that can be shared between users"
    )
    parser.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="files or directories")
    parser.add_argument(
        "--target", default=None, help="module:attr: audit the packages of the target's classes"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object, no table")
    parser.add_argument(
        "--sarif", type=Path, default=None, metavar="FILE", help="write SARIF 2.1.0"
    )
    parser.add_argument(
        "--fail-on", default="warning", help="exit 1 at or above: note, warning (default), error"
    )
    parser.add_argument(
        "--runs",
        type=Path,
        default=None,
        metavar="DIR",
        help="a report directory (findings.json): mark the items the runs saw shared",
    )


def command_audit(args: argparse.Namespace) -> int:
    """Run the audit and print it; the exit code says whether anything reached --fail-on."""
    from rich.console import Console

    from harness import __version__
    from harness.audit import SEVERITIES, audit, render_table, target_paths, to_json, to_sarif

    if args.fail_on not in SEVERITIES:
        raise UsageError(
            f"--fail-on={args.fail_on!r} is not a severity; use one of "
            f"{', '.join(SEVERITIES)}." + did_you_mean(args.fail_on, SEVERITIES)
        )
    paths: list[Path] = list(args.paths)
    if args.target is not None:
        paths += target_paths(args.target)
    if not paths:
        raise UsageError("give a PATH to audit or --target module:attr, e.g. harness audit myapp/")
    report = audit(paths, runs=args.runs)
    if args.sarif is not None:
        try:
            args.sarif.parent.mkdir(parents=True, exist_ok=True)
            args.sarif.write_text(
                json.dumps(to_sarif(report, __version__), indent=2) + "\n", encoding="utf-8"
            )
        except OSError as exc:
            raise UsageError(
                f"--sarif={str(args.sarif)!r} cannot be written ({exc}); choose a writable path"
            ) from exc
    if args.json:
        sys.stdout.write(json.dumps(to_json(report, args.fail_on), indent=2) + "\n")
    else:
        render_table(report, Console(), args.fail_on)
    return 1 if report.failing(args.fail_on) else 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {"audit": command_audit}
