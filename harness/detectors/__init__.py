"""The oracles: pure functions from a Trace to isolation findings.

Each module judges one part of the contract and exposes
``detect(trace, index) -> Iterable[Finding]``; :data:`DETECTORS` lists them in order and
:func:`run_detectors` runs them, sorts, deduplicates and caps the findings. Detectors are general:
they see only the :class:`~harness.model.Trace` (and a token index built from its users and
turns), never a name special to one target.

Example:
    >>> from harness.detectors import run_detectors
    >>> findings = run_detectors(trace)  # doctest: +SKIP
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping
from types import MappingProxyType

from harness.detectors import (
    context_integrity,
    event_contract,
    foreign_data,
    limits,
    outcomes,
    retention,
    shared_state,
)
from harness.detectors._grouping import LeakMatrix as LeakMatrix
from harness.detectors._grouping import blast_radius as blast_radius
from harness.detectors._grouping import group_findings as group_findings
from harness.detectors._grouping import leak_matrix as leak_matrix
from harness.detectors._trace_view import TokenLookup
from harness.errors import UsageError, did_you_mean
from harness.model import FINDING_KINDS, Finding, Trace
from harness.observe.tokens import TokenIndex

__all__ = [
    "DETECTORS",
    "MAX_FINDINGS_PER_KIND",
    "Detector",
    "LeakMatrix",
    "TokenLookup",
    "blast_radius",
    "build_index",
    "group_findings",
    "leak_matrix",
    "run_detectors",
]

#: A detector: reads a trace and its token index, yields findings (``replay`` left empty).
Detector = Callable[[Trace, TokenLookup], Iterable[Finding]]

#: Every oracle, in the order they run.
DETECTORS: Mapping[str, Detector] = MappingProxyType(
    {
        "foreign_data": foreign_data.detect,
        "shared_state": shared_state.detect,
        "event_contract": event_contract.detect,
        "context_integrity": context_integrity.detect,
        "retention": retention.detect,
        "limits": limits.detect,
        "outcomes": outcomes.detect,
    }
)

#: Findings kept per kind; past it the last kept finding says how many were dropped.
MAX_FINDINGS_PER_KIND = 200


def build_index(trace: Trace) -> TokenIndex:
    """The token index of a trace: its users' tokens and the run id of each of its turns, then
    the tokens of the users earlier runs of this process simulated (foreign to every user)."""
    return TokenIndex.build(
        trace.users,
        runs=[(record.user_id, record.turn.run_id) for record in trace.turns],
        earlier=True,
    )


def _select(only: Collection[str] | None) -> tuple[list[str], frozenset[str] | None]:
    """Detector names to run and finding kinds to keep, from ``only``."""
    if only is None:
        return list(DETECTORS), None
    names: list[str] = []
    kinds: set[str] = set()
    for name in only:
        if name in DETECTORS:
            names.append(name)
        elif name in FINDING_KINDS:
            kinds.add(name)
        else:
            raise UsageError(
                f"only={name!r} names no detector or finding kind; expected one of "
                f"{', '.join([*DETECTORS, *FINDING_KINDS])}."
                f"{did_you_mean(name, [*DETECTORS, *FINDING_KINDS])}"
            )
    if kinds:
        # A kind runs the detector that produces it and keeps only that kind.
        return list(DETECTORS), frozenset(kinds) | _kinds_of(names)
    return names, None


def _kinds_of(names: Iterable[str]) -> frozenset[str]:
    produced = {
        "foreign_data": ("foreign-data",),
        "shared_state": ("shared-state",),
        "event_contract": ("event-missing", "event-misrouted", "event-order"),
        "context_integrity": ("context-mismatch",),
        "retention": ("retention",),
        "limits": ("limit-breach",),
        "outcomes": ("hang", "crash", "foreign-data"),
    }
    return frozenset(kind for name in names for kind in produced[name])


def _cap(findings: list[Finding]) -> list[Finding]:
    # Capped per (kind, severity): a placeholder never mixes leaks with hazards.
    by_kind: dict[tuple[str, str], list[Finding]] = {}
    for finding in findings:
        by_kind.setdefault((finding.kind, finding.severity), []).append(finding)
    kept: list[Finding] = []
    for (kind, _severity), group in by_kind.items():
        if len(group) <= MAX_FINDINGS_PER_KIND:
            kept += group
            continue
        dropped = len(group) - MAX_FINDINGS_PER_KIND + 1
        last = group[MAX_FINDINGS_PER_KIND - 1]
        kept += group[: MAX_FINDINGS_PER_KIND - 1]
        rest = group[MAX_FINDINGS_PER_KIND - 1 :]
        # The notice stands for what it hides, so that grouping still counts every observation
        # and pair: it joins the group of the most common cause among the hidden findings.
        keys = Counter(f.group_key for f in rest)
        pairs = dict.fromkeys(pair for f in rest for pair in f.pairs)
        kept.append(
            Finding(
                kind=kind,
                users=last.users,
                summary=f"{dropped} more {kind} findings not shown "
                f"(at most {MAX_FINDINGS_PER_KIND} per kind)",
                evidence=(f"first not shown: {last.summary}",),
                first_seen=last.first_seen,
                severity=last.severity,
                count=sum(f.count for f in rest),
                group_key=keys.most_common(1)[0][0],
                pairs=tuple(pairs),
            )
        )
    return kept


def _sort_key(finding: Finding) -> tuple[int, str, tuple[str, ...], str]:
    return (finding.first_seen, finding.kind, finding.users, finding.summary)


def run_detectors(
    trace: Trace,
    *,
    index: TokenLookup | None = None,
    only: Collection[str] | None = None,
    allow_duplicates: Collection[str] = (),
) -> tuple[Finding, ...]:
    """Run the oracles over a trace.

    Args:
        trace: the run to judge.
        index: a token index; built from ``trace.users`` and ``trace.turns`` when omitted.
        only: detector names (keys of :data:`DETECTORS`) and/or finding kinds to restrict to.
        allow_duplicates: event types the target allows to repeat in a run (its
            ``event_rules["allow_duplicates"]``).

    Returns:
        Findings sorted by (first_seen, kind, users, summary), without duplicates, at most
        :data:`MAX_FINDINGS_PER_KIND` per kind. ``replay`` is left empty for the runner.

    Raises:
        UsageError: ``only`` names neither a detector nor a finding kind.

    Example:
        >>> [f.kind for f in run_detectors(trace, only=["outcomes"])]  # doctest: +SKIP
        ['hang']
    """
    names, kinds = _select(only)
    if index is None:
        index = build_index(trace)
    found: list[Finding] = []
    for name in names:
        if name == "event_contract":
            found += event_contract.detect(trace, index, allow_duplicates=allow_duplicates)
        else:
            found += DETECTORS[name](trace, index)
    if kinds is not None:
        found = [f for f in found if f.kind in kinds]
    unique = sorted(set(found), key=_sort_key)
    return tuple(sorted(_cap(unique), key=_sort_key))
