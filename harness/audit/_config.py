"""The ``[tool.harness.audit]`` allowlist in pyproject.toml.

::

    [tool.harness.audit]
    allow = [
        "myapp.registry:TOOLS  # filled at import, read-only afterwards",
        {name = "myapp.cache:Cache._store", reason = "keyed by user id, cleared on logout"},
    ]

An entry names ``module:NAME`` (``NAME`` may be ``Class.attr``; shell wildcards are allowed) and
must give a reason: after ``#`` in the string form, or ``reason`` in the table form.
"""

from __future__ import annotations

import fnmatch
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import UsageError
from harness.settings import find_pyproject as nearest_pyproject

__all__ = ["Allowlist", "find_pyproject", "read_allowlist"]

_EXAMPLE = 'allow = ["pkg.module:NAME  # why sharing it is safe"]'


@dataclass(frozen=True, slots=True)
class Allowlist:
    """``(pattern, reason)`` pairs; a pattern is ``module:NAME`` with optional wildcards."""

    entries: tuple[tuple[str, str], ...] = ()
    #: The pyproject.toml the entries came from (None when there is none).
    source: Path | None = None

    def reason_for(self, qualified: str, module: str) -> str | None:
        """The reason an entry gives for ``qualified`` (a name inside ``module``), or None."""
        if not qualified.startswith(module):
            return None
        inner = qualified[len(module) :].lstrip(".") or qualified
        key = f"{module}:{inner}"
        for pattern, reason in self.entries:
            if fnmatch.fnmatchcase(key, pattern):
                return reason
        return None


def find_pyproject(paths: Iterable[Path]) -> Path | None:
    """The first pyproject.toml found from each audited path upwards, else in the cwd."""
    for path in paths:
        found = nearest_pyproject(path.resolve())
        if found is not None:
            return found
    candidate = Path.cwd() / "pyproject.toml"
    return candidate if candidate.is_file() else None


def _entry(raw: Any, index: int, where: Path) -> tuple[str, str]:
    if isinstance(raw, str):
        pattern, _hash, reason = raw.partition("#")
    elif isinstance(raw, Mapping):
        pattern, reason = str(raw.get("name", "")), str(raw.get("reason", ""))
    else:
        raise UsageError(
            f"{where}: [tool.harness.audit] allow[{index}]={raw!r} is a {type(raw).__name__}; "
            f"expected a string or a table with name and reason, e.g. {_EXAMPLE}"
        )
    pattern, reason = pattern.strip(), reason.strip()
    if ":" not in pattern:
        raise UsageError(
            f"{where}: [tool.harness.audit] allow[{index}]={pattern!r} is not module:NAME, "
            f"e.g. {_EXAMPLE}"
        )
    if not reason:
        raise UsageError(
            f"{where}: [tool.harness.audit] allow[{index}]={pattern!r} gives no reason; "
            f"write why sharing it is safe, e.g. {_EXAMPLE}"
        )
    return pattern, reason


def read_allowlist(pyproject: Path | None) -> Allowlist:
    """Read ``[tool.harness.audit] allow`` from ``pyproject`` (an empty list when absent).

    Raises:
        UsageError: the file is not valid TOML, ``allow`` is not a list, or an entry is
            malformed or gives no reason.
    """
    if pyproject is None:
        return Allowlist()
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        raise UsageError(
            f"pyproject={str(pyproject)!r} cannot be read as TOML ({exc}); fix the file or run "
            "the audit from another directory"
        ) from exc
    section = data.get("tool", {}).get("harness", {}).get("audit", {})
    allow = section.get("allow", []) if isinstance(section, Mapping) else []
    if not isinstance(allow, list):
        raise UsageError(
            f"{pyproject}: [tool.harness.audit] allow={allow!r} must be a list, e.g. {_EXAMPLE}"
        )
    return Allowlist(
        entries=tuple(_entry(raw, index, pyproject) for index, raw in enumerate(allow)),
        source=pyproject,
    )
