"""Turning many observations of one bug into one finding.

A broken target repeats its bug on every turn of every user: a null notifier drops the tool
events of thousands of turns. Detectors therefore never build :class:`~harness.model.Finding`
records one by one; they feed observations to a :class:`FindingAggregator`, which keeps one
finding per (kind, severity, users, cause), the first :data:`MAX_EVIDENCE` evidence lines and a
count.
"""

from __future__ import annotations

from collections.abc import Hashable

from harness.model import Finding, Severity

__all__ = ["MAX_EVIDENCE", "FindingAggregator"]

#: Evidence lines kept per finding; the rest are counted ("and 37 more").
MAX_EVIDENCE = 10


class _Group:
    """Observations sharing (kind, users, cause)."""

    __slots__ = ("actual", "expected", "first_step", "headline", "keys", "lines", "plural")

    def __init__(self, headline: str, plural: str | None) -> None:
        self.headline = headline
        self.plural = plural
        self.keys: set[Hashable] = set()
        self.lines: list[str] = []
        self.first_step: int | None = None
        self.expected: str | None = None
        self.actual: str | None = None


class FindingAggregator:
    """Collects observations and emits one finding per (kind, users, cause).

    Example:
        >>> agg = FindingAggregator()
        >>> for seq in (1, 2, 3):
        ...     agg.add("event-order", ("usr_a",), "dup", f"seq {seq}", step=seq,
        ...             headline="duplicate terminal", plural="{n} duplicate terminals")
        >>> [f.summary for f in agg.findings()]
        ['3 duplicate terminals']
    """

    def __init__(self) -> None:
        self._groups: dict[tuple[str, Severity, tuple[str, ...], str], _Group] = {}

    def add(
        self,
        kind: str,
        users: tuple[str, ...],
        cause: str,
        evidence: str,
        *,
        step: int,
        headline: str,
        plural: str | None = None,
        key: Hashable | None = None,
        expected: str | None = None,
        actual: str | None = None,
        severity: Severity = "leak",
    ) -> None:
        """Record one observation.

        Args:
            kind: a finding kind (``harness.model.FINDING_KINDS``).
            users: the users involved; for data crossing users, (owner, receiver).
            cause: groups observations of one bug; never shown.
            evidence: one short, precise line.
            step: the step of this observation (0 if unknown).
            headline: the summary when there is one observation.
            plural: the summary for ``n`` observations, a format string with ``{n}``;
                defaults to ``headline`` followed by the count.
            key: observations with equal keys count once (default: the evidence line).
            expected: what the contract required, shown as a diff with ``actual``.
            actual: what the target did.
            severity: ``"leak"`` (proven crossing) or ``"hazard"``; observations of different
                severity are never merged into one finding.
        """
        group_key = (kind, severity, users, cause)
        group = self._groups.get(group_key)
        if group is None:
            group = self._groups[group_key] = _Group(headline, plural)
        dedup_key = evidence if key is None else key
        if dedup_key in group.keys:
            return
        group.keys.add(dedup_key)
        if len(group.lines) < MAX_EVIDENCE:
            group.lines.append(evidence)
        if group.first_step is None or step < group.first_step:
            group.first_step = step
        if group.expected is None and group.actual is None:
            group.expected, group.actual = expected, actual

    def findings(self) -> list[Finding]:
        """The aggregated findings, in the order their groups first appeared."""
        out: list[Finding] = []
        for (kind, severity, users, _cause), group in self._groups.items():
            count = len(group.keys)
            if count == 1:
                summary = group.headline
            elif group.plural is not None:
                summary = group.plural.format(n=count)
            else:
                summary = f"{group.headline} ({count} occurrences)"
            evidence = list(group.lines)
            if count > len(evidence):
                evidence.append(f"and {count - len(evidence)} more")
            out.append(
                Finding(
                    kind=kind,
                    users=users,
                    summary=summary,
                    evidence=tuple(evidence),
                    first_seen=group.first_step or 0,
                    expected=group.expected,
                    actual=group.actual,
                    severity=severity,
                )
            )
        return out
