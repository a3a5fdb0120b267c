"""Finding and parsing the audited files: module names, comments and inline suppressions.

Files are read and parsed with :mod:`ast`; nothing is imported. A file's module name comes from
the packages around it (every parent directory holding an ``__init__.py``).
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from harness.errors import UsageError

__all__ = ["SUPPRESSION", "ModuleSource", "iter_python_files", "load_module", "module_name"]

#: The inline suppression: ``# harness: shared-ok <reason>``.
SUPPRESSION = re.compile(r"#\s*harness:\s*shared-ok\b[ \t:-]*(?P<reason>.*)$")

# Directories never worth auditing.
_SKIP_DIRECTORIES = frozenset(
    {"__pycache__", ".git", ".hg", ".tox", ".nox", ".venv", "venv", "node_modules", "build"}
)


@dataclass(frozen=True, slots=True)
class ModuleSource:
    """One parsed file."""

    path: Path
    #: Path relative to the report root, ``/``-separated.
    relative: str
    module: str
    tree: ast.Module
    #: line -> the text of the ``# harness: shared-ok`` comment's reason ("" when bare).
    suppressions: dict[int, str]


def module_name(path: Path, root: Path | None = None) -> str:
    """``pkg.sub.mod`` for ``.../pkg/sub/mod.py`` (a package's ``__init__`` is the package).

    Packages are the parent directories holding an ``__init__.py``; above them, directories
    inside ``root`` count as namespace packages (``suites/integration/x.py`` under the project
    root is ``suites.integration.x``).
    """
    parts = [] if path.stem == "__init__" else [path.stem]
    directory = path.parent
    while (directory / "__init__.py").is_file():
        parts.insert(0, directory.name)
        directory = directory.parent
    if root is not None and root in directory.parents:
        parts[:0] = directory.relative_to(root).parts
    return ".".join(parts) or path.parent.name


def iter_python_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Every ``.py`` file under ``paths`` (files given directly are kept), sorted, once each.

    Raises:
        UsageError: a path that does not exist, or a file that is not a ``.py`` file.
    """
    seen: set[Path] = set()
    for path in paths:
        if not path.exists():
            raise UsageError(
                f"path={str(path)!r} does not exist; give a Python file or a directory to audit"
            )
        if path.is_file():
            if path.suffix != ".py":
                raise UsageError(
                    f"path={str(path)!r} is not a .py file; give Python files or directories"
                )
            candidates = [path]
        else:
            candidates = sorted(
                file
                for file in path.rglob("*.py")
                if not _SKIP_DIRECTORIES.intersection(file.relative_to(path).parts[:-1])
            )
        for file in candidates:
            resolved = file.resolve()
            if resolved not in seen:
                seen.add(resolved)
                yield file


def _suppressions(source: str) -> dict[int, str]:
    found: dict[int, str] = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                match = SUPPRESSION.search(token.string)
                if match:
                    found[token.start[0]] = match.group("reason").strip()
    except (tokenize.TokenError, SyntaxError):  # the parse already succeeded: best effort
        pass
    return found


def load_module(path: Path, root: Path) -> ModuleSource:
    """Read and parse ``path``.

    Raises:
        SyntaxError, UnicodeDecodeError, OSError: the file cannot be read or parsed (the caller
            lists it as skipped).
    """
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, filename=str(path))
    resolved = path.resolve()
    try:
        relative = resolved.relative_to(root).as_posix()
    except ValueError:
        relative = resolved.as_posix()
    return ModuleSource(
        path=path,
        relative=relative,
        module=module_name(resolved, root),
        tree=tree,
        suppressions=_suppressions(source),
    )
