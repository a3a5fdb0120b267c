"""``harness audit``: find the state a codebase can share between users, without running it.

The audit parses Python files with :mod:`ast` (nothing is imported or executed) and lists every
place where state can outlive a request: module-level and class-level mutable objects, the
singleton pattern, caches, mutable defaults, closures with state, ``threading.local``,
ContextVars never reset, thread-scoped sessions used from async code, long-lived HTTP clients and
``get_*()`` accessors of module-level objects. Each item has a file:line, a kind, a one-line why
and a severity. docs/audit.md explains every kind and the limits.

Example:
    >>> from harness.audit import audit, definition_sites
    >>> report = audit(["harness_backend"])  # doctest: +SKIP
    >>> report.failing("warning")  # doctest: +SKIP
    ()
"""

from __future__ import annotations

from harness.audit._audit import audit as audit
from harness.audit._audit import target_paths as target_paths
from harness.audit._config import Allowlist as Allowlist
from harness.audit._config import read_allowlist as read_allowlist
from harness.audit._output import render_table as render_table
from harness.audit._output import to_json as to_json
from harness.audit._output import to_sarif as to_sarif
from harness.audit._records import KINDS as KINDS
from harness.audit._records import SEVERITIES as SEVERITIES
from harness.audit._records import AuditItem as AuditItem
from harness.audit._records import AuditReport as AuditReport
from harness.audit._records import Site as Site
from harness.audit._sites import definition_sites as definition_sites

__all__ = [
    "audit",
    "definition_sites",
    "target_paths",
    "read_allowlist",
    "Allowlist",
    "AuditItem",
    "AuditReport",
    "Site",
    "KINDS",
    "SEVERITIES",
    "render_table",
    "to_json",
    "to_sarif",
]
