"""Oracle ``retention``: user engines or data still reachable after every session closed.

Reads :attr:`harness.model.Trace.retention`, taken after the sessions closed and a garbage
collection ran. A trace without a retention record, or with ``checked=False`` (a remote target
exposes no objects), yields nothing: the runner says so in its notes.

- every owner with root paths still alive is one finding, with the path from the shared roots
  that keeps each one alive when the walker found it;
- every token of a user found by walking the shared roots is user data kept by shared
  infrastructure: one finding per owner;
- likewise every token found in the module-level globals of the target's code (a module cache,
  a log list, a mutable default argument): state every user shares, declared or not.
"""

from __future__ import annotations

from collections.abc import Iterable

from harness.detectors._evidence import FindingAggregator
from harness.detectors._grouping import carrier
from harness.detectors._trace_view import TokenLookup, TraceView, normalize
from harness.model import Finding, Trace

__all__ = ["detect"]

KIND = "retention"


def _keeper(path: str, index: TokenLookup) -> str:
    """Who keeps a value: a module global up to its first subscript (``mod._LOG[*].x`` ->
    ``mod._LOG``), else the shared root and its attribute (``factory._cache.a.b`` ->
    ``factory._cache``)."""
    shape = carrier(normalize(path, index))
    if " " in shape or shape.count(".") <= 1:
        return shape
    return ".".join(shape.split(".", 2)[:2])


def detect(trace: Trace, index: TokenLookup) -> Iterable[Finding]:
    """Report objects and data of closed sessions that the target still holds.

    Args:
        trace: the run to judge; only ``trace.retention`` is read.
        index: the token index, to tell whose data a shared value is.

    Example:
        >>> [f.users for f in detect(trace, index)]  # doctest: +SKIP
        [('usr_a',)]
    """
    record = trace.retention
    if record is None or not record.checked:
        return []
    step = TraceView(trace, index).last_step()
    agg = FindingAggregator()
    for owner, paths in sorted(record.alive.items()):
        for path in paths:
            # Keyed "owner:path" (two users' roots can share a path such as "engine").
            keeper = record.reachable.get(f"{owner}:{path}")
            kept = f" (kept alive by {keeper})" if keeper else ""
            agg.add(
                KIND,
                (owner,),
                "alive",
                f"{owner}'s {path} is still alive after close{kept}",
                step=step,
                headline=f"{owner}'s roots are still alive after all sessions closed",
                plural=f"{{n}} roots of {owner} are still alive after all sessions closed",
                expected="garbage after close",
                actual=f"{path} alive" + (f" via {keeper}" if keeper else ""),
                # Per keeper: a survivor kept by a value's holder joins that holder's group.
                pattern=carrier(normalize(keeper, index)) if keeper else "no keeper found",
                channel="keeper",
            )
    #: (values, group, evidence prefix, where the data is kept, what that place should hold)
    places = (
        (
            record.shared_values,
            "shared values",
            "shared",
            "reachable from the shared roots",
            "shared infrastructure",
        ),
        (
            record.module_values,
            "module values",
            "module global",
            "kept in module-level state",
            "module globals (caches, logs, default arguments)",
        ),
    )
    for values, group, prefix, kept, place in places:
        for found in values:
            for token, owner in index.scan(found.value):
                agg.add(
                    KIND,
                    (owner,),
                    group,
                    f"{prefix} {found.path} = {index.kind(token) or 'token'} {token!r} of {owner}",
                    step=step,
                    key=(found.path, token),
                    headline=f"data of {owner} is {kept} after close",
                    plural=f"{{n}} values of {owner} are {kept} after close",
                    expected=f"no data of {owner} in {place}",
                    actual=f"{found.path} = {token}",
                    pattern=carrier(normalize(found.path, index))
                    if prefix == "module global"
                    else _keeper(found.path, index),
                    channel="keeper",
                    sites=(found.site,) if found.site else (),
                )
    return agg.findings()
