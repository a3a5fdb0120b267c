"""The alien backend's scratch holders: one per runner when correct, one for all when not.

Each kind is a container shape real code uses to keep per-turn notes (a defaultdict, a deque, a
slots object, a partial, a closure, an array...). Shared by every runner (the ``shared-scratch``
bug), each must be seen by the walks; one per runner, none may be reported. Also the two memo
shapes the ``closure-memo`` and ``default-arg`` bugs hand to every runner.
"""

from __future__ import annotations

import array
import collections
import functools
import types
import weakref
from collections.abc import Callable, Mapping

__all__ = ["SCRATCH_KINDS", "Writer", "closure_memo", "note_with_default"]


class RecentRuns(collections.OrderedDict[str, str]):
    """An LRU of recent runs (an OrderedDict subclass)."""


class Tally:
    """A ``__slots__``-only holder of the last thing written."""

    __slots__ = ("last",)

    def __init__(self) -> None:
        self.last: tuple[str, str] = ("", "")


class _Remember:
    """Anything weak-referenceable, for the WeakValueDictionary holder."""

    def __init__(self, text: str) -> None:
        self.text = text


def _append_line(lines: list[str], run_id: str, text: str) -> None:
    lines.append(f"{run_id} {text}")


def note_with_default(run_id: str, text: str, _seen: dict[str, str] = {}) -> None:  # noqa: B006
    """Remembers every message "for this runner" in a default argument: one dict for all."""
    _seen[run_id] = text


def closure_memo() -> Callable[[str, str], None]:
    seen: dict[str, str] = {}

    def remember(run_id: str, text: str) -> None:
        seen[run_id] = text

    return remember


Writer = Callable[[object, str, str], None]


def _write_defaultdict(h: object, run_id: str, text: str) -> None:
    h[run_id].append(text)  # type: ignore[index]


def _write_mapping(h: object, run_id: str, text: str) -> None:
    h[run_id] = text  # type: ignore[index]


def _write_deque(h: object, run_id: str, text: str) -> None:
    h.append(f"{run_id} {text}")  # type: ignore[attr-defined]


def _write_slots(h: object, run_id: str, text: str) -> None:
    h.last = (run_id, text)  # type: ignore[attr-defined]


def _write_namespace(h: object, run_id: str, text: str) -> None:
    setattr(h, "last", f"{run_id} {text}")  # noqa: B010


def _write_call(h: object, run_id: str, text: str) -> None:
    h(run_id, text)  # type: ignore[operator]


def _write_append_call(h: object, run_id: str, text: str) -> None:
    h(f"{run_id} {text}")  # type: ignore[operator]


def _write_bytes(h: object, run_id: str, text: str) -> None:
    h.extend(f"{run_id} {text}".encode())  # type: ignore[attr-defined]


def _write_array(h: object, run_id: str, text: str) -> None:
    h.frombytes(f"{run_id} {text}".encode())  # type: ignore[attr-defined]


def _write_weak(h: object, run_id: str, text: str) -> None:
    note = _Remember(f"{run_id} {text}")
    # The holder pins its own values (a module-level pin list would be retention of its own).
    pinned: list[_Remember] = vars(h).setdefault("pinned", [])
    pinned.append(note)
    del pinned[:-64]
    h[run_id] = note  # type: ignore[index]


#: kind -> (make a holder, write into it). Every holder is mutable state.
SCRATCH_KINDS: Mapping[str, tuple[Callable[[], object], Writer]] = types.MappingProxyType(
    {
        "defaultdict": (lambda: collections.defaultdict(list), _write_defaultdict),
        "ordereddict-subclass": (RecentRuns, _write_mapping),
        "deque": (lambda: collections.deque(maxlen=64), _write_deque),
        "slots-object": (Tally, _write_slots),
        "simplenamespace": (types.SimpleNamespace, _write_namespace),
        "chainmap": (lambda: collections.ChainMap({}), _write_mapping),
        "partial": (lambda: functools.partial(_append_line, []), _write_call),
        "bound-method": (lambda: [].append, _write_append_call),
        "bytearray": (bytearray, _write_bytes),
        "weakvaluedict": (weakref.WeakValueDictionary, _write_weak),
        "closure": (closure_memo, _write_call),
        "array": (lambda: array.array("b"), _write_array),
    }
)
