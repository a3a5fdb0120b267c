"""Oracle ``shared-state``: one mutable object reachable from two users' roots.

The walker already stops at the target's declared shared roots, so every
:class:`~harness.model.FoundObject` in a checkpoint's ``shared`` list is an undeclared crossing:
a class-level dict, a cached agent, a registry handed to two engines. The same object is found
at every checkpoint while the bug lasts; findings are deduplicated by (type name, set of path
shapes), where a shape is a path with its ids and subscripts blanked out.

Severity: the walks of the same checkpoint say what was inside the object. When a walk of one
of the users reaching it met, under its path to the object, a token of another user (a value the
observer keeps because it is foreign to that walk's owner), the object carried one user's data
to another: a ``leak``. When no such token was seen at any checkpoint where it was shared, it is
a ``hazard``: mutable state two users can write, that leaks as soon as one of them does.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from harness.detectors._trace_view import CachedScan, TokenLookup, normalize
from harness.model import Checkpoint, Finding, FoundObject, Trace

__all__ = ["detect"]

KIND = "shared-state"


class _Sighting:
    __slots__ = ("carried", "checkpoints", "first", "first_label", "first_step", "obj", "paths")

    def __init__(self, obj: FoundObject, index: int, label: str, step: int) -> None:
        self.obj = obj
        self.first = index
        self.first_label = label
        self.first_step = step
        self.checkpoints: set[int] = set()
        self.paths: dict[str, str] = {}  # owner -> first path met, across checkpoints
        self.carried: str | None = None  # the first foreign token seen inside, as evidence


#: Where a path can be cut into the path of a containing object: before ``.x``, ``[k]``,
#: ``{closure x}``.
_CUTS = frozenset(".[{")


def _prefixes(path: str) -> Iterator[str]:
    """The path and the paths of the objects that contain what it names, longest first."""
    yield path
    for position in range(len(path) - 1, 0, -1):
        if path[position] in _CUTS:
            yield path[:position]


def _mark_carried(
    checkpoint: Checkpoint,
    by_path: dict[tuple[str, str], _Sighting],
    index: TokenLookup,
    scan: CachedScan,
) -> None:
    """Mark the sightings of this checkpoint whose object held a token foreign to a reacher."""
    for walk in checkpoint.walks:
        holder = walk.owner
        if holder is None:
            continue
        for found in walk.values:
            foreign = [(t, o) for t, o in scan(found.value) if o != holder]
            if not foreign:
                continue
            for prefix in _prefixes(found.path):
                sighting = by_path.get((holder, prefix))
                if sighting is None or sighting.carried is not None:
                    continue
                token, owner = foreign[0]
                sighting.carried = (
                    f"carried data of another user: checkpoint {checkpoint.index} "
                    f"{holder}'s {found.path} = {index.kind(token) or 'token'} {token!r} "
                    f"of {owner}"
                )


def detect(trace: Trace, index: TokenLookup) -> Iterable[Finding]:
    """Report each mutable object shared between users' roots once, with both paths.

    Args:
        trace: the run to judge; only ``trace.checkpoints`` is read.
        index: the token index, used to blank ids out of paths.

    Example:
        >>> [f.kind for f in detect(trace, index)]  # doctest: +SKIP
        ['shared-state']
    """
    sightings: dict[tuple[str, frozenset[str]], _Sighting] = {}
    scan = CachedScan(index)
    for checkpoint in trace.checkpoints:
        by_path: dict[tuple[str, str], _Sighting] = {}  # (owner, path) -> sighting, here
        for obj in checkpoint.shared:
            if len(obj.paths) < 2:
                continue
            shapes = frozenset(normalize(path, index) for path in obj.paths.values())
            key = (obj.type_name, shapes)
            sighting = sightings.get(key)
            if sighting is None:
                sighting = sightings[key] = _Sighting(
                    obj, checkpoint.index, checkpoint.label, checkpoint.step
                )
            sighting.checkpoints.add(checkpoint.index)
            for owner, path in obj.paths.items():
                sighting.paths.setdefault(owner, path)
                by_path[(owner, path)] = sighting
        if by_path:
            _mark_carried(checkpoint, by_path, index, scan)

    findings: list[Finding] = []
    for (type_name, _shapes), sighting in sightings.items():
        users = tuple(sorted(sighting.paths))
        paths = sorted(sighting.paths.items())
        evidence = [f"{owner}: {path}" for owner, path in paths[:10]]
        if len(paths) > 10:
            evidence.append(f"and {len(paths) - 10} more")
        # What was inside decides the severity; the last line stays where it was first seen.
        evidence.append(
            sighting.carried
            or "no token of another user was seen inside it (a hazard: it leaks once written)"
        )
        count = len(sighting.checkpoints)
        evidence.append(
            f"first seen at checkpoint {sighting.first} ({sighting.first_label}), "
            f"object id {sighting.obj.identity}; seen at {count} checkpoint"
            + ("s" if count != 1 else "")
        )
        findings.append(
            Finding(
                kind=KIND,
                users=users,
                summary=f"one {type_name} object is reachable from the roots of "
                f"{', '.join(users)} at once",
                evidence=tuple(evidence),
                first_seen=sighting.first_step,
                expected="one object per user, or one declared in shared_roots()",
                actual=" and ".join(path for _owner, path in paths[:2]),
                severity="leak" if sighting.carried else "hazard",
            )
        )
    return findings
