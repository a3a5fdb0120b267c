"""Running an audit: files -> parsed modules -> items, suppressions applied, runs joined."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import ModuleType

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


def _package_directory(top: str) -> Path | None:
    """Where top-level package (or module) ``top`` lives, found without importing it."""
    module = sys.modules.get(top)
    locations = list(getattr(module, "__path__", []) or [])
    file = getattr(module, "__file__", None)
    if module is None:
        try:
            spec = importlib.util.find_spec(top)
        except (ImportError, ValueError):
            return None
        if spec is None:
            return None
        locations = list(spec.submodule_search_locations or [])
        file = spec.origin
    if locations:
        return Path(locations[0])
    return Path(file) if file and file.endswith(".py") else None


def _imported_packages(module: ModuleType) -> list[str]:
    """Top-level packages the module's source imports (also inside functions: adapters often
    import their backend lazily). The source is parsed, not run."""
    file = getattr(module, "__file__", None)
    if not file or not file.endswith(".py"):
        return []
    try:
        tree = ast.parse(Path(file).read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError, OSError):
        return []
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
    return [name.split(".")[0] for name in names]


def _audited(top: str, directory: Path) -> bool:
    # The harness is the tool, not the system under test; installed libraries are not the
    # project's code; the standard library is not either.
    installed = {"site-packages", "dist-packages"} & set(directory.parts)
    return top != "harness" and top not in sys.stdlib_module_names and not installed


def target_paths(spec: str) -> list[Path]:
    """The top-level package directories of a ``module:attr`` target's code.

    The adapter module is imported (as ``--target`` loading does); the target is not built,
    started or called. Audited: the top-level package of the adapter module, of the classes in
    the target's MRO, and of every package the adapter's source imports (also inside functions),
    except the harness itself, the standard library and installed libraries.

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
    tops = [module_name.split(".")[0]]
    if inspect.isclass(owner):
        tops += [cls.__module__.split(".")[0] for cls in owner.__mro__]
    else:
        tops.append(str(getattr(owner, "__module__", module_name)).split(".")[0])
    tops += _imported_packages(module)
    found: list[Path] = []
    for top in dict.fromkeys(tops):
        directory = _package_directory(top)
        if directory is not None and directory not in found and _audited(top, directory):
            found.append(directory)
    if not found:
        raise UsageError(
            f"--target={spec!r}: found no package of the project to audit (only the harness, "
            "the standard library or installed libraries); give the backend's PATH instead"
        )
    return found
