"""Severity verdicts: what evidence makes a finding a leak, and what leaves it a hazard."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from harness.detectors import _cap, context_integrity, foreign_data, shared_state
from harness.detectors._evidence import FindingAggregator
from harness.model import FINDING_KINDS, CallTool, Finding, FoundObject, SimUser, Think, Trace
from suites.unit.detectors.trace_builder import TraceBuilder

# ----------------------------------------------------------------------------- context-mismatch


def _contexts(b: TraceBuilder) -> list[Finding]:
    trace = b.build()
    return list(context_integrity.detect(trace, b.index(trace)))


def test_an_echo_under_another_run_of_the_same_user_is_a_leak() -> None:
    b = TraceBuilder(1)
    (user,) = b.users
    tab = b.open(user)
    older = b.run(tab)
    b.run(tab, (CallTool("echo"),), echo_as=(user.user_id, older, user.thread_ids[0]))
    (finding,) = _contexts(b)
    assert finding.severity == "leak"


def test_another_users_id_in_a_live_context_is_a_leak() -> None:
    b = TraceBuilder(2)
    user_a, user_b = b.users
    run_b = b.run(b.open(user_b))
    b.checkpoint([b.walk(user_b.user_id, {"context.user_id": user_a.user_id}, [run_b])])
    (finding,) = _contexts(b)
    assert (finding.severity, finding.users) == ("leak", (user_a.user_id, user_b.user_id))


def test_a_stale_run_of_the_same_user_in_a_live_context_is_a_hazard() -> None:
    b = TraceBuilder(1)
    (user,) = b.users
    tab = b.open(user)
    ended, running = b.run(tab), b.run(tab)
    b.checkpoint([b.walk(user.user_id, {"context.run_id": ended}, [running])])
    (finding,) = _contexts(b)
    assert finding.severity == "hazard"
    assert finding.users == (user.user_id,)
    assert "stale context" in finding.summary
    assert f"context.run_id = run_id '{ended}' of {user.user_id}" in finding.evidence[0]
    assert finding.expected == f"user_id={user.user_id}, run_id={running}"


def test_a_stale_run_and_a_foreign_user_in_one_context_are_two_findings() -> None:
    b = TraceBuilder(2)
    user_a, user_b = b.users
    tab = b.open(user_b)
    ended, running = b.run(tab), b.run(tab)
    values = {"context.run_id": ended, "context.owner": user_a.user_id}
    b.checkpoint([b.walk(user_b.user_id, values, [running])])
    assert sorted(f.severity for f in _contexts(b)) == ["hazard", "leak"]


# ----------------------------------------------------------------------------- shared-state


def _shared(b: TraceBuilder) -> list[Finding]:
    trace = b.build()
    return list(shared_state.detect(trace, b.index(trace)))


def _both(b: TraceBuilder, path: str = "engine.cache") -> FoundObject:
    user_a, user_b = b.users
    return FoundObject(1, "dict", {user_a.user_id: path, user_b.user_id: path})


def test_a_shared_object_holding_another_users_token_is_a_leak() -> None:
    b = TraceBuilder(2)
    user_a, user_b = b.users
    canary = user_a.canaries[0]
    walk = b.walk(user_b.user_id, {'engine.cache["note"]': f"saw {canary}"})
    b.checkpoint([walk], [_both(b)])
    (finding,) = _shared(b)
    assert finding.severity == "leak"
    assert (
        f"carried data of another user: checkpoint 0 {user_b.user_id}'s "
        f"engine.cache[\"note\"] = canary '{canary}' of {user_a.user_id}"
    ) in finding.evidence
    assert finding.evidence[-1].startswith("first seen at checkpoint 0")


def test_a_shared_object_with_nothing_foreign_inside_is_a_hazard() -> None:
    b = TraceBuilder(2)
    user_a, user_b = b.users
    elsewhere = b.walk(user_b.user_id, {"engine.cachet": user_a.canaries[0]})  # not inside
    b.checkpoint([elsewhere], [_both(b)])
    (finding,) = _shared(b)
    assert finding.severity == "hazard"
    assert any("no token of another user was seen inside it" in line for line in finding.evidence)


def test_a_token_seen_inside_at_a_later_checkpoint_makes_it_a_leak() -> None:
    b = TraceBuilder(2)
    user_a, user_b = b.users
    b.checkpoint([], [_both(b)])
    walk = b.walk(user_a.user_id, {"engine.cache.last.email": user_b.email})
    b.checkpoint([walk], [_both(b)])
    (finding,) = _shared(b)
    assert finding.severity == "leak"
    assert any(
        line.startswith("carried data of another user: checkpoint 1") for line in finding.evidence
    )


def test_a_stale_run_of_the_reacher_itself_inside_is_not_foreign() -> None:
    b = TraceBuilder(2)
    user_a, _user_b = b.users
    old = b.run(b.open(user_a))
    b.checkpoint([b.walk(user_a.user_id, {"engine.cache[0]": old})], [_both(b)])
    (finding,) = _shared(b)
    assert finding.severity == "hazard"


# ----------------------------------------------------------------------------- intrusions


def _intrusion(trace: Trace, run_id: str, victim: SimUser) -> Trace:
    """The turn ``run_id`` becomes one sent on ``victim``'s thread, and completed."""
    turns = tuple(
        replace(
            record, turn=replace(record.turn, thread_id=victim.thread_ids[0], victim=victim.user_id)
        )
        if record.turn.run_id == run_id
        else record
        for record in trace.turns
    )
    return replace(trace, turns=turns)


def _intrusions(trace: Trace, b: TraceBuilder) -> list[Finding]:
    found = foreign_data.detect(trace, b.index(trace))
    return [f for f in found if "thread of" in f.summary or "threads of" in f.summary]


def test_an_accepted_intrusion_where_nothing_crossed_is_an_ownership_hazard() -> None:
    b = TraceBuilder(2)
    victim, intruder = b.users
    b.run(b.open(victim))
    probe = b.run(b.open(intruder), (Think("x"), CallTool("echo")))
    trace = _intrusion(b.build(), probe, victim)
    (finding,) = foreign_data.detect(trace, b.index(trace))
    assert finding.severity == "hazard"
    assert finding.users == (victim.user_id, intruder.user_id)
    thread = victim.thread_ids[0]
    assert f"on {victim.user_id}'s thread {thread}: completed, not rejected" in finding.evidence[0]
    assert f"ownership of thread {thread} not checked" in finding.evidence[0]
    assert finding.actual == "completed, nothing crossed"


def test_the_victims_canary_in_the_intruders_run_makes_it_a_leak() -> None:
    b = TraceBuilder(2)
    victim, intruder = b.users
    tab = b.open(intruder)
    probe = b.run(tab, (Think("x"),))
    b.event(tab, "agent_thinking", probe, {"text": f"history: {victim.canaries[1]}"})
    trace = _intrusion(b.build(), probe, victim)
    (finding,) = _intrusions(trace, b)
    assert finding.severity == "leak"
    assert f"{victim.user_id}'s data reached {intruder.user_id}" in finding.evidence[0]
    assert victim.canaries[1] in finding.evidence[0]


def test_the_intruders_canary_in_the_victims_later_events_on_that_thread_is_a_leak() -> None:
    b = TraceBuilder(2)
    victim, intruder = b.users
    victim_tab = b.open(victim)
    mine = b.run(victim_tab)
    probe = b.run(b.open(intruder), (Think("x"),))
    b.event(
        victim_tab,
        "agent_thinking",
        mine,
        {"text": intruder.canaries[0]},
        thread_id=victim.thread_ids[0],
    )
    trace = _intrusion(b.build(), probe, victim)
    (finding,) = _intrusions(trace, b)
    assert finding.severity == "leak"
    assert f"{intruder.user_id}'s data reached {victim.user_id}" in finding.evidence[0]


def test_crossings_on_another_thread_or_before_the_intrusion_do_not_decide_it() -> None:
    b = TraceBuilder(2)
    victim, intruder = b.users
    victim_tab = b.open(victim)
    mine = b.run(victim_tab)
    # Before the intrusion began (a leak of its own, reported on the events channel).
    b.event(
        victim_tab,
        "agent_thinking",
        mine,
        {"text": intruder.canaries[0]},
        thread_id=victim.thread_ids[0],
    )
    probe = b.run(b.open(intruder), (Think("x"),))
    # After it, but on another thread.
    b.event(
        victim_tab, "agent_thinking", None, {"text": intruder.canaries[1]}, thread_id="thread_other"
    )
    trace = _intrusion(b.build(), probe, victim)
    (finding,) = _intrusions(trace, b)
    assert finding.severity == "hazard"


def test_the_named_thread_in_the_intruders_own_objects_is_not_foreign_data() -> None:
    b = TraceBuilder(2)
    victim, intruder = b.users
    b.run(b.open(victim))
    probe = b.run(b.open(intruder), (Think("x"),))
    thread = victim.thread_ids[0]
    b.checkpoint([b.walk(intruder.user_id, {"engine.thread.thread_id": thread}, [probe])])
    trace = _intrusion(b.build(), probe, victim)
    assert [f.severity for f in foreign_data.detect(trace, b.index(trace))] == ["hazard"]
    # Anything else of the victim in those objects still is.
    b.checkpoint([b.walk(intruder.user_id, {"engine.thread.owner": victim.user_id}, [probe])])
    trace = _intrusion(b.build(), probe, victim)
    found = foreign_data.detect(trace, b.index(trace))
    assert sorted(f.severity for f in found) == ["hazard", "leak"]


# ----------------------------------------------------------------------------- never merged


def test_observations_of_different_severity_are_never_merged() -> None:
    agg = FindingAggregator()
    agg.add("shared-state", ("u",), "same cause", "line 1", step=1, headline="h")
    agg.add("shared-state", ("u",), "same cause", "line 2", step=2, headline="h", severity="hazard")
    assert sorted(f.severity for f in agg.findings()) == ["hazard", "leak"]


def test_the_cap_counts_leaks_and_hazards_apart() -> None:
    hazards = [
        Finding(kind="shared-state", users=("u",), summary=f"h{n}", severity="hazard")
        for n in range(250)
    ]
    leak = Finding(kind="shared-state", users=("u",), summary="the leak")
    kept = _cap([*hazards, leak])
    assert leak in kept
    assert [f.severity for f in kept].count("hazard") == 200
    assert kept[-2].summary.startswith("51 more shared-state findings not shown")
    assert kept[-2].severity == "hazard"


def test_the_findings_doc_says_for_every_kind_which_evidence_makes_a_leak() -> None:
    text = (Path(__file__).parents[3] / "docs" / "findings.md").read_text(encoding="utf-8")
    assert "### Severity" in text.split("\n## ", 1)[0]
    for kind in FINDING_KINDS:
        section = text.split(f"## {kind}\n", 1)[1].split("\n## ", 1)[0]
        assert "**Severity.**" in section, kind
        assert "`leak`" in section.split("**Severity.**", 1)[1], kind
