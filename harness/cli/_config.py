"""``[tool.harness]`` in pyproject.toml and ``HARNESS_*`` variables: defaults for the options.

Precedence, lowest first: the built-in default, ``[tool.harness]`` of the nearest
``pyproject.toml`` (the current directory, then its parents), a ``HARNESS_<KEY>`` environment
variable, the command line. Example::

    [tool.harness]
    target = "mypkg.adapters:MyTarget"
    users = 20
    strategy = "pct"
    seeds = "0..9"
    turn_timeout = 60
    call_timeout = 30

Keys other parts of the harness own in the same table (``strict``, the ``[tool.harness.audit]``
table) are left to them.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from harness.errors import UsageError, did_you_mean
from harness.settings import harness_table

__all__ = ["CONFIG_KEYS", "load_config"]


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("a non-empty string")
    return value


def _count(value: Any) -> int:
    if isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            raise ValueError("an integer >= 1") from None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError("an integer >= 1")
    return int(value)


def _seconds(value: Any) -> float:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ValueError("a number of seconds > 0") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("a number of seconds > 0")
    if not math.isfinite(value) or value <= 0:
        raise ValueError("a number of seconds > 0")
    return float(value)


def _seed_range(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value}..{value}"
    return _text(value)


#: The keys ``[tool.harness]`` may hold for ``harness run``: key -> (option dest, converter).
CONFIG_KEYS: Mapping[str, tuple[str, Callable[[Any], Any]]] = {
    "target": ("target", _text),
    "scenario": ("scenario", _text),
    "users": ("users", _count),
    "strategy": ("strategy", _text),
    "seeds": ("config_seeds", _seed_range),
    "report": ("report", lambda value: Path(_text(value))),
    "turn_timeout": ("turn_timeout", _seconds),
    "call_timeout": ("call_timeout", _seconds),
    "block_limit": ("block_limit", _seconds),
    "connect_rate": ("connect_rate", _seconds),  # connections per second
    "heartbeat": ("heartbeat", _seconds),
}
#: Keys of ``[tool.harness]`` read by other parts of the harness: the severity switch and the
#: ``[tool.harness.audit]`` table of ``harness audit``.
_OTHER_KEYS = frozenset({"strict", "audit"})


def load_config(
    start: Path | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Option defaults from ``[tool.harness]`` and ``HARNESS_<KEY>``, by option dest.

    Raises:
        UsageError: an unreadable pyproject.toml, an unknown key, or a value of the wrong type;
            the message names the file or variable, the key, the value and what is expected.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    path, section = harness_table(start or Path.cwd())
    if path is not None:
        for key, raw in section.items():
            if key in _OTHER_KEYS:
                continue
            if key not in CONFIG_KEYS:
                raise UsageError(
                    f"{path}: [tool.harness] has an unknown key {key!r}."
                    f"{did_you_mean(key, CONFIG_KEYS)} Known keys: {', '.join(CONFIG_KEYS)}."
                )
            values.update(_convert(key, raw, f"{path}: [tool.harness] {key}"))
    for key in CONFIG_KEYS:
        name = f"HARNESS_{key.upper()}"
        if name in environ:
            values.update(_convert(key, environ[name], f"environment variable {name}"))
    return values


def _convert(key: str, raw: Any, where: str) -> dict[str, Any]:
    dest, convert = CONFIG_KEYS[key]
    try:
        return {dest: convert(raw)}
    except (TypeError, ValueError) as exc:
        expected = str(exc)
        raise UsageError(f"{where} = {raw!r} ({type(raw).__name__}) must be {expected}.") from exc
