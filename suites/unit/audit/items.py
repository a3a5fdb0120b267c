"""Helpers of the audit tests: the fixture signature and short views of audit items."""

from __future__ import annotations

from collections.abc import Callable

from harness.audit import AuditItem

__all__ = ["AuditSource", "kinds", "only"]

#: Writes ``pkg/<name>.py`` with the dedented source into a temporary project, audits the
#: package and returns its items.
AuditSource = Callable[..., list[AuditItem]]


def kinds(items: list[AuditItem]) -> list[tuple[str, str, int]]:
    """``(kind, severity, line)`` of each item, in report order."""
    return [(item.kind, item.severity, item.line) for item in items]


def only(items: list[AuditItem], kind: str) -> AuditItem:
    """The one item of ``kind`` (fails when there is not exactly one)."""
    __tracebackhide__ = True
    matching = [item for item in items if item.kind == kind]
    assert len(matching) == 1, f"expected one {kind} item, got {kinds(items)}"
    return matching[0]
