"""Where the code of what a walk reports lives: the class, its file and line, and the line
that assigns an attribute, read with :mod:`inspect` once per class (or class and attribute).

A finding that names ``harness_backend/agents.py:133`` sends the engineer to the right file
first; the walk knows the live object's class at the moment it reports a value, so it records
the site then (the trace never holds the objects).
"""

from __future__ import annotations

import inspect
import pathlib
import re

from harness.observe._walk_plans import CLASSES

__all__ = ["attribute_site", "class_site"]

_SITES: dict[str, str] = {}
_ATTRIBUTE_SITES: dict[tuple[type, str], str] = {}


def _source_file(cls: type) -> str | None:
    """The file defining ``cls``, shown from its top-level package (``pkg/mod.py``).

    Not relative to the working directory: the site is part of the trace, and the trace of a
    run must not depend on where it was started.
    """
    try:
        file = inspect.getsourcefile(cls)
    except (OSError, TypeError):
        return None
    if not file:
        return None
    parts = pathlib.PurePath(file).parts
    depth = cls.__module__.count(".") + 1
    if pathlib.PurePath(file).stem == "__init__":
        depth += 1
    return "/".join(parts[-depth:])


def _class_lines(cls: type) -> tuple[list[str], int] | None:
    try:
        return inspect.getsourcelines(cls)
    except (OSError, TypeError):
        return None


def _describe_class(cls: type) -> str:
    if cls.__module__ == "builtins":
        return ""
    site = f"{cls.__module__}.{cls.__qualname__}"
    file, source = _source_file(cls), _class_lines(cls)
    if file and source:
        site += f" ({file}:{source[1]})"
    return site


def class_site(type_name: str) -> str:
    """Where the class named ``type_name`` (a walked type) is defined: ``module.Class (file:line)``.

    Empty for builtins and for names no walk has planned. Remembered per name.
    """
    site = _SITES.get(type_name)
    if site is None:
        cls = CLASSES.get(type_name)
        site = _SITES[type_name] = _describe_class(cls) if cls is not None else ""
    return site


def attribute_site(cls: type, name: str) -> str:
    """Where attribute ``name`` of ``cls`` instances is defined and, when found, assigned.

    ``module.Class (file:line), .name set at file:line``: the class, then the first line in
    the class bodies of its MRO that assigns ``self.name =`` (or declares ``name =`` or
    ``name: T =`` in the body, as dataclass fields do). Found by reading the source with
    :mod:`inspect`; empty for builtins. Remembered per (class, name).
    """
    key = (cls, name)
    site = _ATTRIBUTE_SITES.get(key)
    if site is not None:
        return site
    site = _describe_class(cls)
    if site:
        assigned = re.compile(rf"\bself\.{re.escape(name)}\s*(?::[^=]+)?=(?!=)")
        declared = re.compile(rf"^\s+{re.escape(name)}\s*(?::[^=]+)?=(?!=)")
        for klass in cls.__mro__:
            if klass.__module__ == "builtins":
                continue
            file, source = _source_file(klass), _class_lines(klass)
            if not (file and source):
                continue
            lines, first = source
            line = next(
                (
                    first + offset
                    for offset, text in enumerate(lines)
                    if assigned.search(text) or declared.match(text)
                ),
                None,
            )
            if line is not None:
                site += f", .{name} set at {file}:{line}"
                break
    _ATTRIBUTE_SITES[key] = site
    return site
