"""Project settings from ``[tool.harness]`` in the ``pyproject.toml`` of the current directory.

Only what a team wants the same on every machine and in CI lives there; today that is
``strict``: fail a run on hazards too, not only on leaks (docs/findings.md, "Severity")::

    [tool.harness]
    strict = true

A command-line switch (``harness run --strict``, ``pytest --harness-strict``) turns strict on
whatever the file says; there is no switch to turn a file's ``strict = true`` off.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import UsageError, did_you_mean
from harness.model import Finding

__all__ = ["ProjectSettings", "failing", "hazards", "load_settings"]

#: Keys of ``[tool.harness]`` this harness reads.
KNOWN_KEYS = ("strict",)


@dataclass(frozen=True, slots=True)
class ProjectSettings:
    """The ``[tool.harness]`` table, checked. ``source`` is the file read, or None."""

    strict: bool = False
    source: str | None = None


def find_pyproject(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` from ``start`` upwards, or None."""
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def harness_table(start: Path) -> tuple[Path | None, dict[str, Any]]:
    """The ``[tool.harness]`` table of the nearest pyproject.toml from ``start`` upwards.

    Every reader of the table (``strict`` here, the run options in ``harness.cli``) goes
    through this one function: one file, found one way, with one set of errors.

    Raises:
        UsageError: the file cannot be read, is not valid TOML, or ``[tool.harness]`` is not a
            table.
    """
    path = find_pyproject(start)
    if path is None:
        return None, {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"pyproject.toml={str(path)!r} cannot be read ({exc}).") from exc
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(
            f"pyproject.toml={str(path)!r} is not valid TOML ({exc}); fix it or run from "
            "another directory."
        ) from exc
    tool = data.get("tool", {})
    table = tool.get("harness") if isinstance(tool, dict) else None
    if table is None:
        return path, {}
    if not isinstance(table, dict):
        raise UsageError(
            f"[tool.harness] in {str(path)!r} is a value of type {type(table).__name__}, "
            "not a table; write it as a table, e.g. [tool.harness] then strict = true."
        )
    return path, table


def load_settings(directory: str | Path | None = None) -> ProjectSettings:
    """Read ``[tool.harness]`` from the nearest pyproject.toml (from the current directory).

    A missing file or table gives the defaults. An unknown key close to a known one is refused
    so that a typo (``stritc = true``) does not silently leave a gate open; other keys are
    ignored (settings of a newer harness).

    Raises:
        UsageError: the file is not valid TOML, ``[tool.harness]`` is not a table, a key is
            a misspelt known key or ``strict`` is not a boolean.

    Example:
        >>> load_settings("/nonexistent").strict
        False
    """
    path, table = harness_table(Path.cwd() if directory is None else Path(directory))
    if path is None or not table:
        return ProjectSettings()
    for key in table:
        # A misspelt known key would silently leave the gate open: refuse it. Other keys are
        # left alone, for settings a newer harness reads.
        suggestion = did_you_mean(key, KNOWN_KEYS) if key not in KNOWN_KEYS else ""
        if suggestion:
            raise UsageError(
                f"[tool.harness] in {str(path)!r} has unknown key {key!r}; known keys: "
                f"{', '.join(KNOWN_KEYS)}.{suggestion}"
            )
    strict = table.get("strict", False)
    if not isinstance(strict, bool):
        raise UsageError(
            f"[tool.harness] strict={strict!r} (type {type(strict).__name__}) in {str(path)!r} "
            "should be a boolean: strict = true or strict = false."
        )
    return ProjectSettings(strict=strict, source=str(path))


def failing(findings: tuple[Finding, ...] | list[Finding], *, strict: bool) -> list[Finding]:
    """The findings that fail a run: every leak, and hazards too when ``strict``."""
    return [f for f in findings if strict or f.severity != "hazard"]


def hazards(findings: tuple[Finding, ...] | list[Finding]) -> list[Finding]:
    """The hazard findings of a run."""
    return [f for f in findings if f.severity == "hazard"]
