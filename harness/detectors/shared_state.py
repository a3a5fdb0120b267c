"""Oracle ``shared-state``: one mutable object reachable from two users' roots.

The walker already stops at the target's declared shared roots, so every
:class:`~harness.model.FoundObject` in a checkpoint's ``shared`` list is an undeclared crossing:
a class-level dict, a cached agent, a registry handed to two engines. The same object is found
at every checkpoint while the bug lasts; findings are deduplicated by (type name, set of path
shapes), where a shape is a path with its ids and subscripts blanked out.
"""

from __future__ import annotations

from collections.abc import Iterable

from harness.detectors._trace_view import TokenLookup, normalize
from harness.model import Finding, FoundObject, Trace

__all__ = ["detect"]

KIND = "shared-state"


class _Sighting:
    __slots__ = ("checkpoints", "first", "first_label", "first_step", "obj", "paths")

    def __init__(self, obj: FoundObject, index: int, label: str, step: int) -> None:
        self.obj = obj
        self.first = index
        self.first_label = label
        self.first_step = step
        self.checkpoints: set[int] = set()
        self.paths: dict[str, str] = {}  # owner -> first path met, across checkpoints


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
    for checkpoint in trace.checkpoints:
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

    findings: list[Finding] = []
    for (type_name, shapes), sighting in sightings.items():
        users = tuple(sorted(sighting.paths))
        paths = sorted(sighting.paths.items())
        evidence = [f"{owner}: {path}" for owner, path in paths[:10]]
        if len(paths) > 10:
            evidence.append(f"and {len(paths) - 10} more")
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
                count=count,
                # The outermost shape: objects met through it are the same root cause.
                group_key=f"{KIND}|object|{min(shapes, key=lambda s: (len(s), s))}",
                sites=(sighting.obj.site,) if sighting.obj.site else (),
            )
        )
    return findings
