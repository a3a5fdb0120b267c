"""The audit's records and its vocabulary: kinds, severities and the rule text of each kind."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = [
    "KINDS",
    "SEVERITIES",
    "AuditItem",
    "AuditReport",
    "Site",
    "severity_rank",
]

#: Severities, weakest first. ``--fail-on`` takes one of them.
SEVERITIES: tuple[str, ...] = ("note", "warning", "error")

#: Every kind the audit reports, with the one-paragraph rule text (SARIF rules, docs/audit.md).
KINDS: Mapping[str, str] = MappingProxyType(
    {
        "module-mutable": "A mutable container or instance bound at module level lives as long as "
        "the process and is shared by every request and user.",
        "singleton": "A module-level name starts empty and a function fills it through `global`: "
        "one instance for the whole process (the singleton pattern).",
        "global-write": "A function rebinds a module-level name through `global`: process-wide "
        "state written by requests.",
        "class-mutable": "A mutable class attribute (or a dataclass default object) is one object "
        "shared by every instance of the class.",
        "class-runtime-attr": "A class attribute assigned at run time (`cls.x = ...`, `Type.x = "
        "...`) is process-wide state written by requests.",
        "cache": "A functools/cachetools cache keeps results process-wide: a result computed for "
        "one user can be served to another.",
        "cache-key": "A cachetools key function drops some of the arguments: calls that differ "
        "only in those arguments share one cached result.",
        "mutable-default": "A mutable default argument is created once, when the function is "
        "defined, and shared by every call.",
        "closure-state": "A closure keeps mutable state of the function that made it; every "
        "caller of the closure shares that state.",
        "thread-local": "threading.local is per thread, not per request: under asyncio one thread "
        "serves every user's tasks.",
        "contextvar-no-reset": "A module-level ContextVar is set but never reset: the value stays "
        "in the context that set it and in every task copied from it later.",
        "scoped-session": "scoped_session with the default (thread) scope used from async code: "
        "every task of the thread shares one session.",
        "shared-client": "A long-lived HTTP client at module or class level keeps one cookie jar "
        "(and connection state) for every user.",
        "accessor": "A get_*()/getInstance accessor returns a module-level object: every caller "
        "gets the same instance.",
        "bare-suppression": "A `# harness: shared-ok` comment without a reason: say why sharing "
        "is safe, or remove it.",
    }
)


def severity_rank(severity: str) -> int:
    """Position of ``severity`` in :data:`SEVERITIES` (note 0, warning 1, error 2)."""
    return SEVERITIES.index(severity)


@dataclass(frozen=True, slots=True)
class Site:
    """Where a name is defined: a file path and a 1-based line."""

    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True, slots=True)
class AuditItem:
    """One place where state can outlive a request and be shared between users."""

    #: File path relative to the report's root, with ``/`` separators.
    path: str
    line: int
    #: 1-based column of the statement or expression.
    column: int
    kind: str
    severity: str
    why: str
    #: Qualified name: ``pkg.mod.NAME``, ``pkg.mod.Class.attr`` or ``pkg.mod.func``.
    name: str
    module: str
    #: Names a run's evidence may use for this object (attribute, class or type name).
    match_names: tuple[str, ...] = ()
    #: The reason given by an inline comment or the allowlist; None when not suppressed.
    suppressed: str | None = None
    #: Summaries of the run findings (shared-state, retention) that name this item.
    seen_in_runs: tuple[str, ...] = ()

    @property
    def location(self) -> str:
        """``path:line``."""
        return f"{self.path}:{self.line}"


@dataclass(frozen=True, slots=True)
class AuditReport:
    """Everything one audit found, in report order."""

    #: The directory every item's path is relative to.
    root: str
    items: tuple[AuditItem, ...]
    files: int
    #: Files that could not be parsed, each ``path: reason``.
    skipped: tuple[str, ...] = ()
    #: The findings file joined with ``--runs``, if any.
    runs: str | None = None

    def failing(self, fail_on: str) -> tuple[AuditItem, ...]:
        """Unsuppressed items at or above ``fail_on``."""
        floor = severity_rank(fail_on)
        return tuple(
            item
            for item in self.items
            if item.suppressed is None and severity_rank(item.severity) >= floor
        )
