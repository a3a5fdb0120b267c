"""The timeline of one trace, laid out for the HTML report: one lane per user.

x is loop time (``Event.t``) when every event carries it, else the arrival index (``Event.step``,
then ``Event.seq``). Each lane holds a tick per event the user's tabs received (colored by type),
a span per turn (``started_at`` to ``ended_at``) and markers where a finding touches the user:
red at the event whose ``step`` is the finding's ``first_seen``, orange at the end of a turn an
``event-missing`` finding names, labelled with the event types that never came.

Users with findings come first; past :data:`MAX_LANES` lanes the remaining users share one
aggregate lane, a density strip of their events, so 1,000 users still make a small file.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from harness.model import EVENT_TYPES, CallTool, Event, Fail, Finding, Think, Trace, TurnRecord

__all__ = [
    "EVENT_COLORS",
    "MAX_LANES",
    "Lane",
    "Marker",
    "Span",
    "Tick",
    "Timeline",
    "build_timeline",
    "missing_events",
]

#: Lanes drawn one by one; further users are aggregated.
MAX_LANES = 200
#: Orange markers drawn per finding and lane (one per turn it names).
MAX_MARKERS = 20
#: Tick color of each event type (red and orange are kept for markers).
EVENT_COLORS: dict[str, str] = {
    "agent_started": "#4c78a8",
    "agent_thinking": "#9d755d",
    "tool_executing": "#b8a21c",
    "tool_completed": "#54a24b",
    "agent_completed": "#2f4b7c",
    "agent_error": "#b279a2",
}
_OTHER_COLOR = "#888888"
LABEL_WIDTH = 200
PLOT_WIDTH = 900
LANE_HEIGHT = 18
_BINS = 225


@dataclass(frozen=True, slots=True)
class Tick:
    """One event on a lane (events at the same pixel and type are merged)."""

    x: float
    color: str
    label: str


@dataclass(frozen=True, slots=True)
class Span:
    """One turn on a lane."""

    x: float
    width: float
    label: str
    failed: bool


@dataclass(frozen=True, slots=True)
class Marker:
    """Where a finding touches a user: ``red`` (foreign item) or ``orange`` (missing event)."""

    x: float
    color: str
    label: str
    anchor: str
    #: Text drawn beside the marker; ``""`` keeps it to the hover title (one text per lane, or
    #: the labels of several turns would print over each other).
    text: str = ""


@dataclass(frozen=True, slots=True)
class Lane:
    """One user's row."""

    user_id: str
    name: str
    y: float
    ticks: tuple[Tick, ...]
    spans: tuple[Span, ...]
    markers: tuple[Marker, ...]
    has_findings: bool


@dataclass(frozen=True, slots=True)
class Timeline:
    """Everything the template draws, in pixels."""

    width: int
    height: int
    label_width: int
    plot_width: int
    lane_height: int
    axis: str
    axis_ticks: tuple[tuple[float, str], ...]
    lanes: tuple[Lane, ...]
    aggregate_label: str
    aggregate_y: float
    aggregate_bins: tuple[tuple[float, float, float], ...]  # x, width, opacity
    legend: tuple[tuple[str, str], ...]


def _expected_types(record: TurnRecord) -> set[str]:
    expected = {"agent_started"}
    for step in record.turn.plan:
        if isinstance(step, Think):
            expected.add("agent_thinking")
        elif isinstance(step, CallTool):
            expected.update(("tool_executing", "tool_completed"))
    failing = record.outcome.status == "error" or any(isinstance(s, Fail) for s in record.turn.plan)
    if record.outcome.status in ("completed", "error"):
        expected.add("agent_error" if failing else "agent_completed")
    return expected


def missing_events(record: TurnRecord, received: Sequence[Event], finding: Finding) -> list[str]:
    """Event types a turn should have produced but its user never received, in contract order.

    Falls back to the event types named in ``finding.expected`` but not ``finding.actual``.
    """
    got = {event.type for event in received if event.run_id == record.turn.run_id}
    missing = _expected_types(record) - got
    if not missing:
        expected_text = finding.expected or ""
        actual_text = finding.actual or ""
        missing = {t for t in EVENT_TYPES if t in expected_text and t not in actual_text}
    return [t for t in EVENT_TYPES if t in missing]


class _Scale:
    def __init__(self, low: float, high: float) -> None:
        self.low = low
        self.span = (high - low) or 1.0

    def __call__(self, value: float) -> float:
        return round(LABEL_WIDTH + (value - self.low) / self.span * PLOT_WIDTH, 1)


def _position(event: Event, use_time: bool) -> float:
    if use_time and event.t is not None:
        return event.t
    return float(event.step if event.step is not None else event.seq)


def build_timeline(trace: Trace, findings: Sequence[Finding], anchor_prefix: str = "f") -> Timeline:
    """Lay out ``trace`` and the ``findings`` that touch its users.

    Args:
        trace: the run to draw.
        findings: its findings; marker ``anchor`` is ``f"{anchor_prefix}-{index}"``.
        anchor_prefix: the id prefix of the findings in the page, for marker links.
    """
    events_by_user: dict[str, list[Event]] = defaultdict(list)
    session_events: dict[str, Sequence[Event]] = {}
    for session in trace.sessions:
        events_by_user[session.user_id].extend(session.events)
        session_events[session.session_id] = session.events
    all_events = [event for events in events_by_user.values() for event in events]
    use_time = bool(all_events) and all(event.t is not None for event in all_events)
    if not all_events:
        use_time = True
    turns_by_user: dict[str, list[TurnRecord]] = defaultdict(list)
    for record in trace.turns:
        turns_by_user[record.user_id].append(record)

    points = [_position(event, use_time) for event in all_events]
    if use_time:
        points += [r.started_at for r in trace.turns] + [r.ended_at for r in trace.turns]
    scale = _Scale(min(points, default=0.0), max(points, default=1.0))

    order = [user.user_id for user in trace.users]
    order += [uid for uid in events_by_user if uid not in set(order)]
    touched: dict[str, list[int]] = defaultdict(list)
    for index, finding in enumerate(findings):
        for uid in finding.users:
            touched[uid].append(index)
    known = set(order)
    flagged = [uid for uid in dict.fromkeys(u for f in findings for u in f.users) if uid in known]
    ranked = flagged + [uid for uid in order if uid not in touched]
    shown, rest = ranked[:MAX_LANES], ranked[MAX_LANES:]
    names = {user.user_id: user.display_name for user in trace.users}
    step_x = {e.step: scale(_position(e, use_time)) for e in all_events if e.step is not None}
    if use_time:
        for checkpoint in trace.checkpoints:
            step_x.setdefault(checkpoint.step, scale(checkpoint.t))
        for record in trace.turns:
            step_x.setdefault(record.step, scale(record.ended_at))

    lanes = []
    for row, uid in enumerate(shown):
        events = events_by_user.get(uid, [])
        records = turns_by_user.get(uid, [])
        lanes.append(
            Lane(
                user_id=uid,
                name=names.get(uid, ""),
                y=row * LANE_HEIGHT,
                ticks=_ticks(events, scale, use_time),
                spans=_spans(records, events, scale, use_time),
                markers=_with_text(
                    [
                        marker
                        for index in touched.get(uid, [])
                        for marker in _markers(
                            findings[index],
                            f"{anchor_prefix}-{index}",
                            records,
                            events,
                            session_events,
                            step_x,
                            scale,
                            use_time,
                        )
                    ]
                ),
                has_findings=uid in touched,
            )
        )
    aggregate_y = len(lanes) * LANE_HEIGHT
    aggregate_label = ""
    bins: tuple[tuple[float, float, float], ...] = ()
    if rest:
        with_findings = sum(1 for uid in rest if uid in touched)
        aggregate_label = (
            f"{len(rest)} more users ({with_findings} with findings)"
            if with_findings
            else f"{len(rest)} clean users"
        )
        bins = _density([e for uid in rest for e in events_by_user.get(uid, [])], scale, use_time)
    height = int(aggregate_y + (LANE_HEIGHT if rest else 0) + 24)
    low, span = scale.low, scale.span
    axis_ticks = tuple(
        (
            scale(low + span * i / 5),
            f"{low + span * i / 5:.3f}" if use_time else str(round(low + span * i / 5)),
        )
        for i in range(6)
    )
    return Timeline(
        width=LABEL_WIDTH + PLOT_WIDTH + 20,
        height=height,
        label_width=LABEL_WIDTH,
        plot_width=PLOT_WIDTH,
        lane_height=LANE_HEIGHT,
        axis="loop time (s)" if use_time else "arrival index (event step, else seq)",
        axis_ticks=axis_ticks,
        lanes=tuple(lanes),
        aggregate_label=aggregate_label,
        aggregate_y=aggregate_y,
        aggregate_bins=bins,
        legend=tuple(EVENT_COLORS.items()),
    )


def _ticks(events: Sequence[Event], scale: _Scale, use_time: bool) -> tuple[Tick, ...]:
    # One tick per pixel column and type: a user with 100,000 events still draws a bounded lane.
    seen: dict[tuple[int, str], Tick] = {}
    for event in events:
        x = scale(_position(event, use_time))
        key = (int(x), event.type)
        if key not in seen:
            label = f"{event.type} seq={event.seq} step={event.step} run={event.run_id} t={event.t}"
            seen[key] = Tick(x=x, color=EVENT_COLORS.get(event.type, _OTHER_COLOR), label=label)
    return tuple(seen.values())


def _spans(
    records: Sequence[TurnRecord], events: Sequence[Event], scale: _Scale, use_time: bool
) -> tuple[Span, ...]:
    spans = []
    for record in records:
        label = f"{record.turn.run_id} {record.outcome.status}"
        failed = record.outcome.status != "completed"
        if use_time:
            x0, x1 = scale(record.started_at), scale(record.ended_at)
        else:
            xs = [scale(_position(e, False)) for e in events if e.run_id == record.turn.run_id]
            if not xs:
                continue
            x0, x1 = min(xs), max(xs)
        spans.append(Span(x=x0, width=round(max(x1 - x0, 1.0), 1), label=label, failed=failed))
    return tuple(spans)


def _turns_named(finding: Finding, records: Sequence[TurnRecord]) -> list[TurnRecord]:
    text = " ".join((finding.summary, *finding.evidence))
    named = [r for r in records if r.turn.run_id and r.turn.run_id in text]
    if named:
        return named[:MAX_MARKERS]
    return [r for r in records if r.step == finding.first_seen][:1]


#: "... run R (completed): missing A, B" and "session S ... missed A x2 of run R ..." (the
#: detectors' evidence lines) name exactly what never came.
_MISSING = re.compile(r"\b(?:missing|missed) (.+?)(?: of run .*)?$")


def _missing_label(finding: Finding, record: TurnRecord, received: Sequence[Event]) -> str:
    for line in (*finding.evidence, finding.summary):
        if record.turn.run_id in line:
            match = _MISSING.search(line)
            if match:
                return f"missing {match.group(1)}"
    missing = missing_events(record, received, finding)
    return "missing " + (", ".join(missing) if missing else (finding.expected or "an event"))


def _with_text(markers: list[Marker]) -> tuple[Marker, ...]:
    """Label the lane's first missing-event marker, counting the others it stands for."""
    orange = [i for i, marker in enumerate(markers) if marker.color == "orange"]
    if orange:
        first = markers[orange[0]]
        more = f" (+{len(orange) - 1} more turns)" if len(orange) > 1 else ""
        markers[orange[0]] = replace(first, text=first.label + more)
    return tuple(markers)


def _markers(
    finding: Finding,
    anchor: str,
    records: Sequence[TurnRecord],
    events: Sequence[Event],
    session_events: Mapping[str, Sequence[Event]],
    step_x: dict[int, float],
    scale: _Scale,
    use_time: bool,
) -> list[Marker]:
    if finding.kind == "event-missing":
        markers = []
        for record in _turns_named(finding, records):
            received = session_events.get(record.session_id, ())
            label = _missing_label(finding, record, received)
            if use_time:
                x = scale(record.ended_at)
            else:
                xs = [scale(_position(e, False)) for e in events if e.run_id == record.turn.run_id]
                x = max(xs) if xs else float(LABEL_WIDTH + PLOT_WIDTH)
            markers.append(Marker(x=x, color="orange", label=label, anchor=anchor))
        return markers
    own = [e for e in events if e.step == finding.first_seen]
    at = scale(_position(own[0], use_time)) if own else step_x.get(finding.first_seen)
    if at is None:
        return []
    summary = finding.summary if len(finding.summary) <= 160 else finding.summary[:157] + "..."
    return [Marker(x=at, color="red", label=f"{finding.kind}: {summary}", anchor=anchor)]


def _density(
    events: Sequence[Event], scale: _Scale, use_time: bool
) -> tuple[tuple[float, float, float], ...]:
    counts = [0] * _BINS
    width = PLOT_WIDTH / _BINS
    for event in events:
        column = int((scale(_position(event, use_time)) - LABEL_WIDTH) / width)
        counts[min(max(column, 0), _BINS - 1)] += 1
    peak = max(counts, default=0) or 1
    return tuple(
        (round(LABEL_WIDTH + i * width, 1), round(width, 2), round(0.15 + 0.85 * c / peak, 2))
        for i, c in enumerate(counts)
        if c
    )
