"""Running an audit: files -> parsed modules -> items, suppressions applied, runs joined."""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from harness.audit._config import Allowlist, find_pyproject, read_allowlist
from harness.audit._records import AuditItem, AuditReport, severity_rank
from harness.audit._runs import join_runs, run_findings
from harness.audit._scan import immutable_class_names, scan_module
from harness.audit._source import ModuleSource, iter_python_files, load_module
from harness.errors import UsageError

__all__ = ["audit", "report_root", "target_paths"]


def report_root(paths: Sequence[Path], pyproject: Path | None) -> Path:
    """The directory item paths are relative to: the project (pyproject.toml) holding every
    audited path, else their common parent."""
    resolved = [p.resolve() for p in paths]
    if pyproject is not None:
        project = pyproject.parent.resolve()
        if all(p == project or project in p.parents for p in resolved):
            return project
    parents = [p if p.is_dir() else p.parent for p in resolved]
    return Path(os.path.commonpath([str(p) for p in parents]))


def audit(
    paths: Iterable[str | Path],
    *,
    runs: str | Path | None = None,
    allowlist: Allowlist | None = None,
) -> AuditReport:
    """Audit the Python files under ``paths`` for state shared between requests.

    Args:
        paths: files or directories; nothing in them is imported or run.
        runs: a report directory whose findings.json marks the items runs saw shared.
        allowlist: suppressions; by default ``[tool.harness.audit]`` of the pyproject.toml found
            from the first path upwards (or in the cwd).

    Raises:
        UsageError: no path, a missing path, an unreadable pyproject.toml or allowlist entry, a
            runs directory without findings.json.
        FindingsFileError: a findings.json that is not schema 1.

    Example:
        >>> report = audit(["harness_backend"])  # doctest: +SKIP
        >>> [i.location for i in report.failing("warning")]  # doctest: +SKIP
        []
    """
    roots = [Path(p) for p in paths]
    if not roots:
        raise UsageError("no path to audit; give one or more files or directories")
    files = list(iter_python_files(roots))
    findings = None if runs is None else run_findings(Path(runs))  # usage errors before work
    pyproject = find_pyproject(roots)
    if allowlist is None:
        allowlist = read_allowlist(pyproject)
    root = report_root(roots, pyproject)
    sources: list[ModuleSource] = []
    skipped: list[str] = []
    for file in files:
        try:
            sources.append(load_module(file, root))
        except (SyntaxError, UnicodeDecodeError, OSError) as exc:
            skipped.append(f"{file}: {type(exc).__name__}: {exc}")
    immutable = immutable_class_names([s.tree for s in sources])
    items: list[AuditItem] = []
    for source in sources:
        items.extend(scan_module(source, immutable, allowlist))
    ordered: tuple[AuditItem, ...] = tuple(
        sorted(items, key=lambda i: (i.path, i.line, i.column, -severity_rank(i.severity)))
    )
    if findings is not None:
        ordered = join_runs(ordered, findings)
    return AuditReport(
        root=str(root),
        items=ordered,
        files=len(sources),
        skipped=tuple(skipped),
        runs=None if runs is None else str(runs),
    )


def _package_directory(module_name: str) -> Path | None:
    top = module_name.split(".")[0]
    module = sys.modules.get(top)
    locations = list(getattr(module, "__path__", []) or [])
    if locations:
        return Path(locations[0])
    file = getattr(module, "__file__", None)
    return Path(file) if file else None


def target_paths(spec: str) -> list[Path]:
    """The top-level package directories of a ``module:attr`` target's classes.

    Only the adapter module is imported (as ``--target`` loading does); the target is not built,
    started or called.

    Raises:
        UsageError: ``spec`` is not ``module:attr``, or the module or attribute does not exist.
    """
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise UsageError(
            f"--target={spec!r} is not module:attr; e.g. --target mypkg.adapters:MyTarget"
        )
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # as `python -m`: the project's own packages import
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"--target={spec!r}: cannot import {module_name!r} ({exc})") from exc
    try:
        value = getattr(module, attribute)
    except AttributeError as exc:
        raise UsageError(
            f"--target={spec!r}: module {module_name!r} has no attribute {attribute!r}"
        ) from exc
    owner = value if inspect.isclass(value) or inspect.isfunction(value) else type(value)
    modules = [module_name]
    if inspect.isclass(owner):
        modules += [cls.__module__ for cls in owner.__mro__ if cls.__module__ != "builtins"]
    else:
        modules.append(getattr(owner, "__module__", module_name))
    found: list[Path] = []
    for name in dict.fromkeys(modules):
        if name.split(".")[0] in sys.stdlib_module_names:
            continue
        directory = _package_directory(name)
        if directory is not None and directory not in found:
            found.append(directory)
    return found
