"""Where names are defined: ``pkg.mod.Class``, ``pkg.mod.Class.attr``, ``pkg.mod.NAME``."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType

from harness.audit._audit import report_root
from harness.audit._config import find_pyproject
from harness.audit._records import Site
from harness.audit._scan import module_bindings
from harness.audit._source import iter_python_files, module_name

__all__ = ["definition_sites"]


def _class_sites(node: ast.ClassDef, prefix: str, path: str, sites: dict[str, Site]) -> None:
    qualified = f"{prefix}.{node.name}"
    sites.setdefault(qualified, Site(path, node.lineno))
    for statement, name, _value in module_bindings(node.body):
        sites.setdefault(f"{qualified}.{name}", Site(path, statement.lineno))
    for member in node.body:
        if isinstance(member, ast.ClassDef):
            _class_sites(member, qualified, path, sites)
        elif isinstance(member, ast.FunctionDef | ast.AsyncFunctionDef):
            sites.setdefault(f"{qualified}.{member.name}", Site(path, member.lineno))
            positional = [*member.args.posonlyargs, *member.args.args]
            if not positional:
                continue
            this = positional[0].arg
            for sub in ast.walk(member):
                if (
                    isinstance(sub, ast.Attribute)
                    and isinstance(sub.ctx, ast.Store)
                    and isinstance(sub.value, ast.Name)
                    and sub.value.id == this
                ):
                    sites.setdefault(f"{qualified}.{sub.attr}", Site(path, sub.lineno))


def definition_sites(paths: Iterable[str | Path]) -> Mapping[str, Site]:
    """Qualified name -> where it is defined, for every module under ``paths`` (read, never run).

    Classes, their class-level attributes, methods and the attributes their methods assign on
    ``self`` (the first assignment in source order), module-level names and functions. Paths
    are relative to the same root as :func:`audit` uses. Files that do not parse are skipped.

    Args:
        paths: files or directories, as for ``harness audit``.

    Raises:
        UsageError: a path that does not exist or is not a Python file.

    Example:
        >>> sites = definition_sites(["harness_backend"])  # doctest: +SKIP
        >>> str(sites["harness_backend.factory.ExecutionEngineFactory"])  # doctest: +SKIP
        'harness_backend/factory.py:52'
    """
    roots = [Path(p) for p in paths]
    root = report_root(roots, find_pyproject(roots)) if roots else Path.cwd()
    sites: dict[str, Site] = {}
    for file in iter_python_files(roots):
        try:
            tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
        except (SyntaxError, UnicodeDecodeError, OSError):
            continue
        resolved = file.resolve()
        module = module_name(resolved, root)
        try:
            path = resolved.relative_to(root).as_posix()
        except ValueError:
            path = resolved.as_posix()
        for statement, name, _value in module_bindings(tree.body):
            sites.setdefault(f"{module}.{name}", Site(path, statement.lineno))
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                _class_sites(node, module, path, sites)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                sites.setdefault(f"{module}.{node.name}", Site(path, node.lineno))
    return MappingProxyType(sites)
