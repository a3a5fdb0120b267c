"""The audit's three outputs: a rich table grouped by module, one JSON object, SARIF 2.1.0."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from itertools import groupby
from pathlib import Path
from types import MappingProxyType
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from harness.audit._records import KINDS, SEVERITIES, AuditReport

__all__ = ["SARIF_SCHEMA", "render_table", "to_json", "to_sarif"]

#: The schema URI written into every SARIF log.
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_STYLES: Mapping[str, str] = MappingProxyType(
    {"error": "bold red", "warning": "yellow", "note": "dim"}
)


def _counts(report: AuditReport) -> dict[str, int]:
    counts = {severity: 0 for severity in SEVERITIES}
    for item in report.items:
        if item.suppressed is None:
            counts[item.severity] += 1
    return counts


def to_json(report: AuditReport, fail_on: str) -> dict[str, Any]:
    """The whole report as one JSON-ready object."""
    return {
        "schema": 1,
        "root": report.root,
        "files": report.files,
        "skipped": list(report.skipped),
        "runs": report.runs,
        "fail_on": fail_on,
        "counts": _counts(report),
        "suppressed": sum(1 for item in report.items if item.suppressed is not None),
        "failing": len(report.failing(fail_on)),
        "items": [
            {
                **asdict(item),
                "match_names": list(item.match_names),
                "seen_in_runs": list(item.seen_in_runs),
            }
            for item in report.items
        ],
    }


def render_table(report: AuditReport, console: Console, fail_on: str) -> None:
    """Print one table per module (items in report order), then the totals."""
    shown = [item for item in report.items if item.suppressed is None]
    for module, group in groupby(sorted(shown, key=lambda i: i.module), key=lambda i: i.module):
        entries = list(group)
        if report.runs is not None:
            entries.sort(key=lambda i: not i.seen_in_runs)
        table = Table(title=module, title_justify="left", show_lines=False, expand=False)
        table.add_column("where", no_wrap=True)
        table.add_column("severity", no_wrap=True)
        table.add_column("kind", no_wrap=True)
        if report.runs is not None:
            table.add_column("runs", no_wrap=True)
        table.add_column("why")
        for item in entries:
            row: list[str | Text] = [
                item.location,
                Text(item.severity, style=_STYLES[item.severity]),
                item.kind,
            ]
            if report.runs is not None:
                row.append(Text("seen shared", style="bold red") if item.seen_in_runs else "")
            row.append(item.why)
            table.add_row(*row)
        console.print(table)
    counts = _counts(report)
    suppressed = sum(1 for item in report.items if item.suppressed is not None)
    failing = len(report.failing(fail_on))
    console.print(
        f"{report.files} files: {counts['error']} errors, {counts['warning']} warnings, "
        f"{counts['note']} notes, {suppressed} suppressed; {failing} at or above {fail_on}"
    )
    for skipped in report.skipped:
        console.print(f"skipped (not parsable): {skipped}", style="yellow")


def to_sarif(report: AuditReport, version: str) -> dict[str, Any]:
    """The report as a SARIF 2.1.0 log: one run, one rule per kind, one result per item.

    Suppressed items are kept, with a SARIF ``suppressions`` entry holding the reason, so code
    scanning shows them as dismissed rather than losing them.
    """
    kinds = list(KINDS)
    rules = [
        {
            "id": kind,
            "name": "".join(part.capitalize() for part in kind.split("-")),
            "shortDescription": {"text": kind.replace("-", " ")},
            "fullDescription": {"text": text},
            "help": {"text": f"{text} See docs/audit.md, section {kind}."},
            "defaultConfiguration": {"level": "warning"},
        }
        for kind, text in KINDS.items()
    ]
    results = []
    for item in report.items:
        result: dict[str, Any] = {
            "ruleId": item.kind,
            "ruleIndex": kinds.index(item.kind),
            "level": item.severity,
            "message": {"text": f"{item.name}: {item.why}"},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": item.path, "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": item.line, "startColumn": item.column},
                    },
                    "logicalLocations": [{"fullyQualifiedName": item.name}],
                }
            ],
            "partialFingerprints": {"harnessAudit/v1": f"{item.kind}:{item.name}"},
        }
        if item.suppressed is not None:
            result["suppressions"] = [{"kind": "inSource", "justification": item.suppressed}]
        if item.seen_in_runs:
            result["properties"] = {"seenInRuns": list(item.seen_in_runs)}
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "harness audit",
                        "version": version,
                        "rules": rules,
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": Path(report.root).as_uri() + "/"}},
                "results": results,
            }
        ],
    }
