from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from harness.model import Finding, RunResult
from harness.reporting import (
    MAX_LANES,
    build_timeline,
    read_findings,
    render_html,
    write_findings,
    write_html,
)
from suites.unit.reporting.traces import foreign_data, make_result, make_trace, missing_tools

CANARY = "<script>alert('x')</script>"
DROP = [(2, "tool_executing"), (2, "tool_completed")]


def failing(users: int = 3) -> RunResult:
    trace = make_trace(users, drop=DROP, name=CANARY)
    return make_result(trace, [foreign_data(trace, extra=CANARY), missing_tools(trace)])


def lanes(html: str) -> list[tuple[str, str]]:
    """(" flagged" or "", user id) of each lane drawn."""
    pattern = r'<g class="lane( flagged)?" data-user="([^"]+)"'
    return [(match[1] or "", match[2]) for match in re.finditer(pattern, html)]


def test_report_is_self_contained(tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    write_html(path, [failing()])
    html = path.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html.lower()
    assert "<link" not in html.lower()
    for ref in re.findall(r'(?:src|href)="([^"]*)"', html):
        assert ref.startswith("#") or ref.endswith(
            ("findings.md#foreign-data", "findings.md#event-missing")
        ), ref
    assert "<style>" in html and "<svg" in html


def test_summary_findings_and_replay_are_shown() -> None:
    result = failing()
    html = render_html([result])
    assert result.trace_digest in html
    for text in ("reference", "basic", "random", "foreign-data</span> &times;1", "event-missing"):
        assert text in html
    assert 'href="docs/findings.md#foreign-data"' in html
    assert "- expected only canaries of usr_000000000001" in html
    assert "harness run --scenario basic --seed 7 --strategy random" in html
    assert html.count('class="finding ') == 2
    # Five evidence lines shown, the other two folded away.
    assert "2 more evidence line(s)" in html


def test_everything_from_the_run_is_escaped() -> None:
    html = render_html([failing()])
    assert CANARY not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html


def test_one_lane_per_user_with_findings_first() -> None:
    html = render_html([failing(5)])
    found = lanes(html)
    assert [user for _, user in found] == [
        "usr_000000000001", "usr_000000000000", "usr_000000000002",
        "usr_000000000003", "usr_000000000004",
    ]  # fmt: skip
    assert [flag for flag, _ in found] == [" flagged"] * 3 + [""] * 2


def test_markers_for_the_foreign_item_and_the_missing_events() -> None:
    result = failing()
    timeline = build_timeline(result.trace, result.findings)
    by_user = {lane.user_id: lane for lane in timeline.lanes}
    victim = by_user["usr_000000000001"]
    thinking = next(t for t in victim.ticks if t.label.startswith("agent_thinking"))
    (red,) = victim.markers
    assert red.color == "red" and red.x == thinking.x and red.anchor == "f-0"
    (orange,) = by_user["usr_000000000002"].markers
    record = next(r for r in result.trace.turns if r.user_id == "usr_000000000002")
    assert orange.color == "orange"
    assert orange.label == "missing tool_executing, tool_completed"
    span_end = max(span.x + span.width for span in by_user["usr_000000000002"].spans)
    assert abs(orange.x - span_end) < 0.2  # at the end of the turn's span
    assert record.ended_at == max(r.ended_at for r in result.trace.turns)
    html = render_html([result])
    marker = (
        r'<g class="marker orange">(?:(?!</g>).)*>missing tool_executing, tool_completed</text>'
    )
    assert re.search(marker, html, re.DOTALL)
    assert '<g class="marker red">' in html


def test_missing_label_comes_from_the_detector_evidence() -> None:
    result = failing()
    record = next(r for r in result.trace.turns if r.user_id == "usr_000000000002")
    line = f"session s2 run {record.turn.run_id} (completed): missing tool_executing(echo)"
    finding = Finding(
        kind="event-missing", users=(record.user_id,), summary="lacks", evidence=(line,)
    )
    timeline = build_timeline(result.trace, [finding])
    assert [m.label for m in timeline.lanes[0].markers] == ["missing tool_executing(echo)"]


def test_events_without_loop_time_use_the_arrival_index() -> None:
    result = failing()
    trace = result.trace
    sessions = tuple(
        dataclasses.replace(s, events=tuple(dataclasses.replace(e, t=None) for e in s.events))
        for s in trace.sessions
    )
    timeline = build_timeline(dataclasses.replace(trace, sessions=sessions), result.findings)
    assert timeline.axis.startswith("arrival index")
    assert [m.color for lane in timeline.lanes for m in lane.markers] == ["red", "red", "orange"]


def test_from_a_findings_file_and_its_trace(tmp_path: Path) -> None:
    result = failing()
    write_findings(tmp_path / "findings.json", [make_result(make_trace(2, seed=0)), result])
    read = read_findings(tmp_path / "findings.json")
    html = render_html(read, result.trace)
    assert "missing tool_executing, tool_completed" in html
    assert len(lanes(html)) == 3
    assert "2 runs, 2 finding(s) in all" in html
    without = render_html(read)
    assert "<svg" not in without and "No trace.json" in without


def test_clean_run_says_so() -> None:
    html = render_html([make_result(make_trace(2))])
    assert "No findings" in html
    assert html.count('class="finding ') == 0


def test_a_thousand_users_stay_small(tmp_path: Path) -> None:
    trace = make_trace(1000, turns=2, drop=DROP)
    findings = [foreign_data(trace, victim=999, owner=500), missing_tools(trace)]
    path = tmp_path / "report.html"
    write_html(path, [make_result(trace, findings)])
    size = path.stat().st_size
    assert size < 3_000_000, size
    html = path.read_text(encoding="utf-8")
    found = lanes(html)
    assert len(found) == MAX_LANES
    assert [user for _, user in found[:3]] == [
        "usr_0000000003e7",
        "usr_0000000001f4",
        "usr_000000000002",
    ]
    assert "800 clean users" in html
    assert html.count('fill="#4c78a8" fill-opacity=') > 10  # the density strip


def test_a_lane_labels_its_first_missing_marker_and_counts_the_rest() -> None:
    from harness.reporting import build_timeline
    from suites.unit.reporting.traces import make_trace as _make_trace
    from suites.unit.reporting.traces import missing_tools as _missing_tools

    trace = _make_trace(3, drop=[(0, "tool_executing"), (0, "tool_completed")])
    finding = _missing_tools(trace)
    timeline = build_timeline(trace, [finding, finding])
    texts = [m.text for lane in timeline.lanes for m in lane.markers if m.color == "orange"]
    assert len(texts) >= 2
    labelled = [t for t in texts if t]
    assert len(labelled) == 1
    assert "missing tool_executing" in labelled[0]
    assert "(+" in labelled[0]
