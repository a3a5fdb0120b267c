"""``harness report DIR``: (re)write DIR/report.html from DIR/findings.json and trace.json."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.cli._options import EXIT_CLEAN, EXIT_FINDINGS
from harness.errors import UsageError

__all__ = ["COMMANDS", "add_commands", "command_report"]


def add_commands(commands: Any) -> None:
    """Register ``report`` on the ``harness`` sub-command parser."""
    parser = commands.add_parser(
        "report",
        help="write report.html for a report directory",
        description="Rewrite report.html from a report directory's findings.json (and "
        "trace.json when present). Exit codes: 1 the file holds a leak (or, with --strict, a "
        "hazard), 0 it does not, 2 unreadable.",
    )
    parser.add_argument("directory", type=Path, help="a directory holding findings.json")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 on hazards too, not only on leaks (also: [tool.harness] strict = true)",
    )


def command_report(args: argparse.Namespace) -> int:
    from harness.reporting import read_findings, report_from_dir

    directory: Path = args.directory
    if directory.is_file() and directory.name.endswith(".json"):
        raise UsageError(
            f"directory={str(directory)!r} is a file; harness report takes the directory that "
            f"holds findings.json: harness report {directory.parent or '.'}"
        )
    html = report_from_dir(directory)
    print(f"wrote {html}")
    from harness.settings import failing, load_settings

    findings = read_findings(directory / "findings.json")
    strict = args.strict or load_settings().strict
    return EXIT_FINDINGS if failing(findings.findings, strict=strict) else EXIT_CLEAN


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {"report": command_report}
