"""How walk paths and recorded values are written: dict keys, set order, long strings.

Paths read like code from the root name (``engine.registry._runs["run_ab12..."]``); set elements
are ordered without ``id()`` or hash so equal graphs give equal paths; long strings are cut to
windows of :data:`MAX_VALUE_CHARS` characters around each token they carry.
"""

from __future__ import annotations

import re

from harness.model import FoundValue
from harness.observe._walk_plans import SKIP, display_name, plan_for
from harness.observe.tokens import TokenIndex

__all__ = ["CONTEXT_ROOTS", "MAX_VALUE_CHARS", "found_values", "key_text", "root_key", "stable_key"]

#: The root keys whose objects are the live context of a turn: the one place a run id of the
#: owner that is not running means something (a stale context, ``context-mismatch``). Under any
#: other root, a user's finished runs are history.
CONTEXT_ROOTS = frozenset({"context", "agents"})
_ROOT_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def root_key(path: str) -> str:
    """The first component of a walk path or root name: ``engine`` for
    ``engine.context.user_id``, ``context`` for ``context[run_ab12...]``."""
    match = _ROOT_KEY.match(path)
    return match.group(0) if match else ""


#: A recorded string value is cut to this many characters, around the tokens it carries.
MAX_VALUE_CHARS = 200
_KEY_SCALARS = (str, int, float, bool, type(None), bytes)


def key_text(key: object, position: int) -> str:
    """How a dict key appears in a path: its repr for scalars, else its type and position."""
    if isinstance(key, str):
        text = key if len(key) <= 78 else key[:75] + "..."
        if '"' in text or "\\" in text or not text.isprintable():
            return repr(text)
        return f'"{text}"'
    if isinstance(key, _KEY_SCALARS):
        text = repr(key)
        return text if len(text) <= 80 else text[:77] + "..."
    if isinstance(key, tuple) and all(isinstance(part, _KEY_SCALARS) for part in key):
        text = repr(key)
        return text if len(text) <= 80 else text[:77] + "..."
    name = getattr(key, "name", None)
    if plan_for(type(key)) is SKIP and isinstance(name, str):  # an Enum member
        return f"{display_name(type(key))}.{name}"
    return f"<{display_name(type(key))} #{position}>"


def stable_key(item: object) -> tuple[int, str, str]:
    """Orders set elements without id() or hash: scalars by repr, objects by type then a
    shallow signature of their scalar attributes (ties keep iteration order)."""
    kind = type(item)
    if isinstance(item, _KEY_SCALARS):
        return (0, kind.__qualname__, repr(item))
    if isinstance(item, tuple) and all(isinstance(part, _KEY_SCALARS) for part in item):
        return (1, kind.__qualname__, repr(item))
    signature: list[str] = []
    try:
        attributes = object.__getattribute__(item, "__dict__")
    except AttributeError:
        attributes = {}
    pairs = list(attributes.items()) if type(attributes) is dict else []
    for name, read in plan_for(kind).slots:
        try:
            pairs.append((name, read(item, kind)))
        except AttributeError:
            continue
    for name, value in pairs:
        if isinstance(value, _KEY_SCALARS):
            signature.append(f"{name}={value!r}")
    return (2, kind.__qualname__, ",".join(signature))


def found_values(index: TokenIndex, path: str, text: str, site: str = "") -> list[FoundValue]:
    """One FoundValue for a short string; for a long one, windows covering each token.

    ``site`` says where the attribute holding the string is defined (``attribute_site``).
    """
    if len(text) <= MAX_VALUE_CHARS:
        return [FoundValue(path=path, value=text, site=site)]
    windows: list[FoundValue] = []
    covered_until = -1
    for token, _owner in index.scan(text):
        position = text.find(token)
        if position + len(token) <= covered_until:
            continue
        start = max(0, min(position - 20, len(text) - MAX_VALUE_CHARS))
        covered_until = start + MAX_VALUE_CHARS
        windows.append(FoundValue(path=path, value=text[start:covered_until], site=site))
    return windows
