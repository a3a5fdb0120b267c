"""One finding per root cause: grouping the detectors' findings by what caused them.

The detectors aggregate per (kind, users, cause): one finding per user, or per ordered pair of
users for data crossing users. A broken target repeats one bug for every user: a shared engine
gives a ``foreign-data`` finding for each of thousands of pairs. :func:`group_findings` merges
the findings of one cause, whoever they involve, into one group (itself a
:class:`~harness.model.Finding`):

- findings with the same ``group_key`` (``kind|channel|pattern``, without users or ids: a path
  shape such as ``engine.agents[*]._user_id``, an event type, a keeper) are one group;
- a ``shared-state`` finding whose object is reached through another shared object (its path
  shape extends the other's) joins that object's group: a tracker and its dicts, lists and
  records are one cause.

A group's ``users`` are every user involved (``(owner, receiver)`` when it covers one pair), its
``pairs`` every ``(owner, receiver)`` crossing, ``count`` the observations of all its members,
``examples`` a line from a few other members; the evidence leads with the code sites, then who
leaked to whom, then the first member's evidence. Grouping is idempotent: the groups read back
from ``findings.json`` group to themselves.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from harness.detectors._evidence import CROSSING_KINDS, MAX_EVIDENCE
from harness.model import Finding

__all__ = ["LeakMatrix", "blast_radius", "carrier", "group_findings", "holder", "leak_matrix"]

#: Code sites shown in a group's evidence (``sites`` keeps them all).
MAX_SITES = 3
#: Example lines kept per group (one per member, from the second member on).
MAX_EXAMPLES = 3
#: Pairs a group keeps (the first met); its "owner -> receivers" line gives the full count.
#: Bounds findings.json: a tracker shared by 1,000 users crosses up to a million pairs.
MAX_PAIRS = 1_000
#: Owners listed on the "owner -> receivers" line before the rest are counted.
MAX_FLOWS = 5

_USER_ID = re.compile(r"usr_[0-9a-f]{12}")


_KEY_POSITION = re.compile(r"\{(key|set item|cache key|cache value) \d+\}")
_LAST_STEP = re.compile(r"(\.[A-Za-z_][A-Za-z0-9_]*|\[[^\[\]]*\]|\{[^{}]*\})$")


def holder(path: str) -> str:
    """The path of the object holding a value: ``a.b["k"].name`` -> ``a.b["k"]``."""
    shorter = _LAST_STEP.sub("", path)
    return shorter or path


def carrier(path: str) -> str:
    """A path's shape up to its first subscript: ``agents[*].context`` -> ``agents``."""
    path = _KEY_POSITION.sub(r"{\1 *}", path)
    cut = min((i for i in (path.find("["), path.find("{")) if i > 0), default=len(path))
    return path[:cut]


def _fallback_key(finding: Finding) -> str:
    """A key for findings written before ``group_key`` existed: kind and summary, ids blanked."""
    return f"{finding.kind}|{_USER_ID.sub('<user>', finding.summary)}|"


def _pattern(key: str) -> str:
    return key.split("|", 2)[2] if key.count("|") >= 2 else ""


def _extends(inner: str, outer: str) -> bool:
    return len(inner) > len(outer) and inner.startswith(outer) and inner[len(outer)] in ".[{"


def _prefix(key: str) -> str:
    return key.rsplit("|", 1)[0] if key.count("|") >= 2 else key


def _keys(findings: Sequence[Finding]) -> list[str]:
    """Each finding's group key, after two merges of one cause seen in several places.

    - Nesting: a key whose pattern extends another key's pattern (same kind and channel) takes
      the outer key: a tracker and its dicts, lists and records are one cause.
    - Shared objects shared by exactly the same users are one cause (one engine handed to
      everyone shares its registry, emitter and agents with it); the shortest path leads.
    """
    keys = [finding.group_key or _fallback_key(finding) for finding in findings]
    ordered = sorted(set(keys), key=lambda key: (len(_pattern(key)), key))
    outer: dict[str, str] = {}
    roots: list[str] = []
    for key in ordered:
        pattern, prefix = _pattern(key), _prefix(key)
        owner = None
        if pattern:
            owner = next(
                (
                    root
                    for root in roots
                    if _prefix(root) == prefix
                    and _pattern(root)
                    and _extends(pattern, _pattern(root))
                ),
                None,
            )
        if owner is None:
            roots.append(key)
            outer[key] = key
        else:
            outer[key] = outer[owner]
    keys = [outer[key] for key in keys]
    by_users: dict[frozenset[str], str] = {}
    lead: dict[str, str] = {}
    for key, finding in sorted(
        zip(keys, findings, strict=True), key=lambda pair: (len(_pattern(pair[0])), pair[0])
    ):
        if finding.kind == "shared-state" and key not in lead:
            lead[key] = by_users.setdefault(frozenset(finding.users), key)
    keys = [lead.get(key, key) for key in keys]
    # Data of other users found in objects that are themselves shared is the sharing's doing:
    # one foreign-data group per shared graph, named after the graph's lead object.
    through: dict[str, str] = {}
    for key, finding in zip(keys, findings, strict=True):
        if finding.kind == "shared-state" and finding.group_key:
            through.setdefault(_root(_pattern(finding.group_key)), _pattern(key))
    return [
        f"foreign-data|objects|shared {through[_root(_pattern(key))]}"
        if key.startswith("foreign-data|objects|") and _root(_pattern(key)) in through
        else key
        for key in keys
    ]


def _root(pattern: str) -> str:
    """The root name a path shape starts from: ``agents[*].x`` -> ``agents``."""
    return re.split(r"[.\[{]", pattern, maxsplit=1)[0]


def _flows(pairs: Sequence[tuple[str, str]]) -> str:
    receivers: dict[str, list[str]] = {}
    for owner, receiver in pairs:
        receivers.setdefault(owner, []).append(receiver)
    parts = []
    for owner, got in list(receivers.items())[:MAX_FLOWS]:
        shown = ", ".join(got[:3]) + (f" and {len(got) - 3} more" if len(got) > 3 else "")
        parts.append(f"{owner} -> {shown}")
    more = len(receivers) - MAX_FLOWS
    tail = f"; and {more} more owners" if more > 0 else ""
    return f"owner -> receivers ({len(pairs)} pairs): " + "; ".join(parts) + tail


def _merge(key: str, members: list[Finding]) -> Finding:
    # The member whose own cause names the group leads (the engine, not one of its dicts).
    first = next((m for m in members if m.group_key == key), members[0])
    if len(members) == 1 and first.group_key in (key, ""):
        # Already a group, or a finding that is its own group; its evidence still leads with
        # where the code is, as every group's does.
        if first.sites and not any(line.startswith("code: ") for line in first.evidence):
            code = tuple(f"code: {site}" for site in first.sites[:MAX_SITES])
            return replace(first, evidence=(*code, *first.evidence))
        return first
    pairs: dict[tuple[str, str], None] = {}
    users: dict[str, None] = {}
    sites: dict[str, None] = dict.fromkeys(first.sites)
    examples: list[str] = list(first.examples)
    count = 0
    for member in members:
        count += member.count
        for pair in member.pairs or (
            (member.users,) if member.kind in CROSSING_KINDS and len(member.users) == 2 else ()
        ):
            pairs.setdefault((pair[0], pair[1]), None)
        users.update(dict.fromkeys(member.users))
        sites.update(dict.fromkeys(member.sites))
        if member is not first and len(examples) < MAX_EXAMPLES and member.evidence:
            examples.append(member.evidence[0])
    for owner, receiver in pairs:  # the per-kind cap's notice stands for users it hides
        users.setdefault(owner, None)
        users.setdefault(receiver, None)
    ordered: tuple[str, ...]
    if len(pairs) == 1:
        ordered = next(iter(pairs))
    elif pairs:
        owners = sorted({owner for owner, _ in pairs})
        ordered = (*owners, *sorted(set(users) - set(owners)))
    else:
        ordered = tuple(sorted(users))
    if len(members) == 1:
        summary = first.summary
    else:
        where = _pattern(key) or key.split("|", 2)[1] if "|" in key else key
        summary = (
            f"{first.summary}; and {len(members) - 1} more like it at {where} "
            f"({count} occurrences, {len(users)} users)"
        )
    evidence: list[str] = [f"code: {site}" for site in list(sites)[:MAX_SITES]]
    if len(pairs) > 1:
        evidence.append(_flows(list(pairs)))
    room = max(MAX_EVIDENCE - len(evidence), 3)
    evidence += [line for line in first.evidence if not line.startswith("code: ")][:room]
    # One root cause, one verdict: a cause that a member proves to leak is a leak, though
    # other members (a shared dict with no foreign token yet) alone would be hazards.
    severity = "leak" if any(m.severity == "leak" for m in members) else first.severity
    return replace(
        first,
        severity=severity,
        users=ordered,
        summary=summary,
        evidence=tuple(evidence),
        first_seen=min(member.first_seen for member in members),
        count=count,
        examples=tuple(examples[:MAX_EXAMPLES]),
        group_key=key,
        pairs=tuple(pairs)[:MAX_PAIRS],
        sites=tuple(sites),
    )


def blast_radius(finding: Finding) -> tuple[int, int, int, int, str]:
    """Sort key, biggest first: users involved, pairs, occurrences, then earliest."""
    return (
        -len(finding.users),
        -len(finding.pairs),
        -finding.count,
        finding.first_seen,
        finding.kind,
    )


def group_findings(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """Merge findings of one root cause into one group each, biggest blast radius first.

    Args:
        findings: findings of one run, as the detectors return them (or groups read back).

    Returns:
        One :class:`~harness.model.Finding` per cause, with ``count``, ``examples``,
        ``group_key``, ``pairs`` and ``sites`` filled in, sorted by :func:`blast_radius`.

    Example:
        >>> [g.count for g in group_findings(result.findings)]  # doctest: +SKIP
        [412, 100, 3]
    """
    items = list(findings)
    members: dict[str, list[Finding]] = {}
    for key, finding in zip(_keys(items), items, strict=True):
        members.setdefault(key, []).append(finding)
    groups = [_merge(key, group) for key, group in members.items()]
    return tuple(sorted(groups, key=blast_radius))


@dataclass(frozen=True, slots=True)
class LeakMatrix:
    """Who received whose data: ``cells[(owner, receiver)]`` counts crossing observations.

    ``users`` lists every user in a pair, most involved first.
    """

    users: tuple[str, ...]
    cells: Mapping[tuple[str, str], int]

    def top(self, limit: int) -> tuple[tuple[str, ...], bool]:
        """The ``limit`` most involved users, and whether others were left out."""
        return self.users[:limit], len(self.users) > limit


def leak_matrix(findings: Iterable[Finding]) -> LeakMatrix:
    """Build the user x user matrix of data crossing users from findings or groups.

    Each ``(owner, receiver)`` pair of a ``foreign-data``, ``event-misrouted`` or
    ``context-mismatch`` finding counts the finding's observations spread over its pairs
    (at least one per pair).
    """
    cells: dict[tuple[str, str], int] = {}
    for finding in findings:
        if finding.kind not in CROSSING_KINDS:
            continue
        pairs: tuple[tuple[str, ...], ...] = finding.pairs or (
            (finding.users,) if len(finding.users) == 2 else ()
        )
        share = max(1, finding.count // max(1, len(pairs)))
        for owner, receiver in pairs:
            if owner != receiver:
                cells[owner, receiver] = cells.get((owner, receiver), 0) + share
    involvement: dict[str, int] = {}
    for (owner, receiver), n in cells.items():
        involvement[owner] = involvement.get(owner, 0) + n
        involvement[receiver] = involvement.get(receiver, 0) + n
    users = tuple(sorted(involvement, key=lambda user: (-involvement[user], user)))
    return LeakMatrix(users=users, cells=cells)
