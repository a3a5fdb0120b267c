"""Joining the audit with what runs saw: which audited items a run found shared or retained.

A run's ``shared-state`` and ``retention`` findings name object paths (``engine.registry._runs``)
and classes in their summary and evidence. An audited item is *seen* when one of its names (its
attribute or module name, its class, the type of its value) appears there as a whole word.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from harness.audit._records import AuditItem, severity_rank
from harness.errors import UsageError
from harness.model import Finding

__all__ = ["JOINED_KINDS", "join_runs", "run_findings"]

#: The run finding kinds that say an object is shared between users or kept after them.
JOINED_KINDS = frozenset({"shared-state", "retention"})

#: How many matching findings an item keeps.
_MAX_SEEN = 3


def run_findings(directory: Path) -> tuple[Finding, ...]:
    """The findings of every run recorded in ``directory/findings.json``.

    Raises:
        UsageError: ``directory`` holds no findings.json.
        FindingsFileError: the file is not a schema-1 findings file.
    """
    from harness.reporting import read_findings

    path = directory / "findings.json"
    if not path.is_file():
        raise UsageError(
            f"--runs={str(directory)!r} holds no findings.json; pass a report directory written "
            "by `harness run` (e.g. reports/latest)"
        )
    findings_file = read_findings(path)
    collected = list(findings_file.findings)
    for run in findings_file.runs:
        collected.extend(run.findings)
    return tuple(dict.fromkeys(collected))


def _texts(finding: Finding) -> str:
    return "\n".join([finding.summary, *finding.evidence])


def join_runs(items: Sequence[AuditItem], findings: Iterable[Finding]) -> tuple[AuditItem, ...]:
    """Mark the items the findings name; seen items first, then by severity and place."""
    relevant = [(f, _texts(f)) for f in findings if f.kind in JOINED_KINDS]
    joined = []
    for item in items:
        seen: list[str] = []
        patterns = [
            re.compile(rf"(?<![\w]){re.escape(name)}(?![\w])")
            for name in item.match_names
            if len(name) > 1
        ]
        for finding, text in relevant:
            if any(pattern.search(text) for pattern in patterns):
                line = f"{finding.kind}: {finding.summary}"
                if line not in seen:
                    seen.append(line)
            if len(seen) == _MAX_SEEN:
                break
        joined.append(replace(item, seen_in_runs=tuple(seen)) if seen else item)
    return tuple(
        sorted(
            joined,
            key=lambda i: (not i.seen_in_runs, -severity_rank(i.severity), i.path, i.line),
        )
    )
