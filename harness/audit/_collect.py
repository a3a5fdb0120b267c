"""Turning a node of one module into an :class:`AuditItem`, with its inline suppression."""

from __future__ import annotations

import ast
from collections.abc import Collection

from harness.audit._config import Allowlist
from harness.audit._records import KINDS, AuditItem
from harness.audit._source import ModuleSource
from harness.audit._usage import ModuleUsage
from harness.audit._values import Aliases

__all__ = ["Collector"]


class Collector:
    """The items of one module, and what the checks of that module share (imports, usage)."""

    def __init__(
        self,
        source: ModuleSource,
        aliases: Aliases,
        usage: ModuleUsage,
        immutable_classes: Collection[str],
        allowlist: Allowlist | None = None,
    ) -> None:
        self.source = source
        self.aliases = aliases
        self.usage = usage
        self.immutable_classes = immutable_classes
        self.allowlist = allowlist or Allowlist()
        self.items: list[AuditItem] = []
        self._used_suppressions: set[int] = set()

    def qualified(self, *names: str) -> str:
        """``module.name[.attr]``."""
        return ".".join((self.source.module, *names))

    def add(
        self,
        node: ast.AST | int,
        kind: str,
        severity: str,
        why: str,
        name: str,
        match_names: tuple[str, ...] = (),
    ) -> None:
        """Record one item at ``node`` (or a line number), suppressed when a comment with a
        reason is on one of its lines or the allowlist names it."""
        assert kind in KINDS, kind  # a programming error in a check, never user input
        first = node if isinstance(node, int) else getattr(node, "lineno", 1)
        last = first if isinstance(node, int) else getattr(node, "end_lineno", None) or first
        column = 0 if isinstance(node, int) else getattr(node, "col_offset", 0)
        reason = None
        for line in range(first, last + 1):
            if line in self.source.suppressions:
                self._used_suppressions.add(line)
                reason = self.source.suppressions[line] or None
                break
        if reason is None:
            reason = self.allowlist.reason_for(name, self.source.module)
        self.items.append(
            AuditItem(
                path=self.source.relative,
                line=first,
                column=column + 1,
                kind=kind,
                severity=severity,
                why=why,
                name=name,
                module=self.source.module,
                match_names=match_names,
                suppressed=reason,
            )
        )

    def bare_suppressions(self) -> None:
        """Report every ``# harness: shared-ok`` comment that gives no reason."""
        for line, reason in sorted(self.source.suppressions.items()):
            if not reason:
                self.items.append(
                    AuditItem(
                        path=self.source.relative,
                        line=line,
                        column=1,
                        kind="bare-suppression",
                        severity="warning",
                        why="`# harness: shared-ok` needs a reason after it, e.g. "
                        "`# harness: shared-ok read-only after import`",
                        name=self.source.module,
                        module=self.source.module,
                    )
                )
