"""Comparing walks: which mutable objects did two or more owners reach at one instant."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from harness.model import FoundObject

if TYPE_CHECKING:  # walk.py imports this module: only the type, never at run time
    from harness.observe.walk import WalkResult

__all__ = ["shared_between"]


def shared_between(
    results: Mapping[str, WalkResult], *, keep_alive: Mapping[int, object] | None = None
) -> tuple[FoundObject, ...]:
    """Mutable objects met by the walks of two or more owners, as FoundObjects.

    ``results`` maps owner (user id) to its walk, all taken at ONE checkpoint (one instant, no
    ``await`` in between), so that equal ids mean the same object. When ``keep_alive`` is given
    (the dict filled by :meth:`Walker.walk`), ids it does not pin are not trusted and ignored.

    Identities are numbered from 1 in the order of (first owner in mapping order, its path);
    ``paths`` maps each owner to its path, in mapping order. Ordered by identity.
    """
    owners = list(results)
    walks = list(results.values())
    first: dict[int, int] = {}  # id -> position of the first owner that met it
    holders: dict[int, list[int]] = {}  # shared ids only -> owner positions
    setdefault = first.setdefault
    for position, result in enumerate(walks):
        met: Iterable[int] = result.mutable
        if keep_alive is not None:
            met = result.mutable.keys() & keep_alive.keys()
        for ident in met:  # one pass: first owner of each id, later owners only when shared
            earlier = setdefault(ident, position)
            if earlier != position:
                seen_by = holders.get(ident)
                if seen_by is None:
                    holders[ident] = [earlier, position]
                elif seen_by[-1] != position:
                    seen_by.append(position)

    def order(ident: int) -> tuple[int, str]:
        position = first[ident]
        return (position, walks[position].mutable[ident][0])

    shared = sorted(holders, key=order)
    found: list[FoundObject] = []
    for number, ident in enumerate(shared, start=1):
        position = first[ident]
        paths = {owners[p]: walks[p].mutable[ident][0] for p in holders[ident]}
        type_name = walks[position].mutable[ident][1]
        found.append(FoundObject(identity=number, type_name=type_name, paths=paths))
    return tuple(found)
