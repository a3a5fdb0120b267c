from __future__ import annotations

from dataclasses import replace

from harness.detectors import foreign_data, run_detectors
from harness.model import CallTool, Finding, SimUser, Think, Trace, TurnStatus
from suites.unit.detectors.trace_builder import TraceBuilder


def _findings(builder: TraceBuilder) -> list[Finding]:
    trace = builder.build()
    return list(foreign_data.detect(trace, builder.index(trace)))


def test_canary_of_a_in_b_event_payload_is_foreign_data() -> None:
    b = TraceBuilder(2)
    user_a, user_b = b.users
    tab_b = b.open(user_b)
    run_b = b.run(tab_b)
    leaked = b.event(
        tab_b,
        "agent_thinking",
        run_b,
        {"text": "thinking", "context": {"notes": [f"remember {user_a.canaries[1]}"]}},
        user_id=user_b.user_id,
    )
    findings = _findings(b)
    assert len(findings) == 1
    finding = findings[0]
    assert finding.kind == "foreign-data"
    assert finding.users == (user_a.user_id, user_b.user_id)
    assert finding.first_seen == leaked.step
    assert f"seq {leaked.seq} agent_thinking" in finding.evidence[0]
    assert repr(user_a.canaries[1]) in finding.evidence[0]
    assert f"canary {user_a.canaries[1]!r} of {user_a.user_id}" == finding.actual


def test_foreign_token_in_a_payload_key_and_raw_frame_is_found() -> None:
    b = TraceBuilder(2)
    user_a, user_b = b.users
    tab_b = b.open(user_b)
    run_b = b.run(tab_b)
    b.event(tab_b, "agent_thinking", run_b, {user_a.email: 1}, user_id=user_b.user_id)
    findings = _findings(b)
    assert [f.users for f in findings] == [(user_a.user_id, user_b.user_id)]
    assert "email" in findings[0].evidence[0]


def test_foreign_ids_in_turn_results_and_roots() -> None:
    b = TraceBuilder(2)
    user_a, user_b = b.users
    tab_a, tab_b = b.open(user_a), b.open(user_b)
    run_a = b.run(tab_a)
    # The echo's params come back in its answer: A's canary in B's result.
    b.run(tab_b, (CallTool("echo", {"note": user_a.canaries[0]}),))
    b.checkpoint([b.walk(user_b.user_id, {'engine.execution_registry._runs["x"]': run_a})])
    findings = _findings(b)
    assert {f.users for f in findings} == {(user_a.user_id, user_b.user_id)}
    evidence = "\n".join(line for f in findings for line in f.evidence)
    assert "outcome result['tool_results'][0]['params']['note']" in evidence
    assert f'usr_000000000002\'s engine.execution_registry._runs["x"]: run_id {run_a!r}' in evidence
    # events, outcomes and objects are three channels: three findings, not one per token
    assert len(findings) == 3


def _b_echoes_as_a() -> tuple[TraceBuilder, Trace, SimUser, SimUser]:
    """B's echo answers with A's user id, run id and thread: the context that ran it was A's."""
    b = TraceBuilder(2)
    user_a, user_b = b.users
    tab_a, tab_b = b.open(user_a), b.open(user_b)
    run_a = b.run(tab_a)
    b.run(tab_b, (CallTool("echo"),), echo_as=(user_a.user_id, run_a, user_a.thread_ids[0]))
    return b, b.build(), user_a, user_b


def test_an_echo_answered_under_another_context_is_the_context_oracles_finding() -> None:
    # The echo's identity fields name the context that ran the tool: A's ids there are a
    # swapped context (context-mismatch), one cause, not also foreign data in the result, the
    # tool_completed event and the terminal event's copy of the result.
    b, trace, user_a, user_b = _b_echoes_as_a()
    assert _findings(b) == []
    (mismatch,) = run_detectors(trace, index=b.index(trace))
    assert mismatch.kind == "context-mismatch"
    assert mismatch.users == (user_a.user_id, user_b.user_id)
    assert any("tool_results[0]" in line for line in mismatch.evidence)


def test_an_echo_answer_without_its_outcome_is_still_foreign_data() -> None:
    # Only an answer the context oracle reads (the outcome's tool_results) is left to it: when
    # the outcome lost its result, A's ids in the terminal event are still reported here.
    b, trace, user_a, user_b = _b_echoes_as_a()
    turns = tuple(
        replace(t, outcome=replace(t.outcome, result=None)) if t.user_id == user_b.user_id else t
        for t in trace.turns
    )
    findings = list(foreign_data.detect(replace(trace, turns=turns), b.index(trace)))
    (finding,) = findings
    assert finding.users == (user_a.user_id, user_b.user_id)
    assert any(
        "agent_completed payload['result']['tool_results'][0]" in e for e in finding.evidence
    )


def test_a_misrouted_event_reports_a_third_users_data_not_the_senders() -> None:
    # A's event on B's tab is event-misrouted; A's own ids in it are that finding's evidence.
    # C's canary inside it is data of C that reached B: foreign data.
    b = TraceBuilder(3)
    user_a, user_b, user_c = b.users
    tab_a, tab_b = b.open(user_a), b.open(user_b)
    run_a = b.run(tab_a)
    b.event(tab_b, "agent_thinking", run_a, {"text": user_a.canaries[0]}, user_id=user_a.user_id)
    assert _findings(b) == []
    b.event(tab_b, "agent_thinking", run_a, {"text": user_c.canaries[0]}, user_id=user_a.user_id)
    (finding,) = _findings(b)
    assert finding.users == (user_c.user_id, user_b.user_id)
    assert repr(user_c.canaries[0]) in finding.evidence[0]


def test_one_leak_on_many_events_is_one_finding_with_a_count() -> None:
    b = TraceBuilder(2)
    user_a, user_b = b.users
    tab_b = b.open(user_b)
    run_b = b.run(tab_b)
    for _ in range(25):
        b.event(tab_b, "agent_thinking", run_b, {"text": user_a.canaries[0]})
    (finding,) = _findings(b)
    assert len(finding.evidence) == 11
    assert finding.evidence[-1] == "and 15 more"
    assert finding.summary.startswith("25 tokens of usr_000000000001")


def test_clean_multi_tab_trace_with_own_roots_is_silent() -> None:
    b = TraceBuilder(3)
    user_a, user_b, _user_c = b.users
    tab_a1, tab_a2, tab_b = b.open(user_a), b.open(user_a), b.open(user_b)
    run_a = b.run(tab_a1, also=[tab_a2])
    run_b = b.run(tab_b)
    b.checkpoint(
        [
            b.walk(user_a.user_id, {"context.run_id": run_a, "context.user_id": user_a.user_id}),
            b.walk(user_b.user_id, {"context.run_id": run_b}),
            b.walk(None, {"registry._users": f"{user_a.user_id},{user_b.user_id}"}),
        ]
    )
    assert _findings(b) == []


def test_collect_texts_gathers_the_strings_of_iter_strings() -> None:
    from collections import Counter

    from harness.detectors._trace_view import collect_texts, iter_strings

    value = {
        "a": ["x", ("y", {"z": b"bytes"}), {"set"}, frozenset({"frozen"})],
        "n": {1: "one", "k": None, "f": 1.5},
        "s": "plain",
    }
    with_paths = [text for _path, text in iter_strings(value, "v")]
    assert Counter(collect_texts(value, ["first"])) == Counter(["first", *with_paths])
    assert "bytes" in with_paths and "one" in with_paths  # the comparison is not vacuous


def test_event_texts_are_the_strings_of_event_strings() -> None:
    from collections import Counter

    from harness.detectors._trace_view import event_strings, event_texts
    from harness.model import Event

    event = Event(
        type="tool_completed",
        run_id="run_000000000001",
        thread_id=None,
        user_id="usr_000000000001",
        payload={"name": "echo", "result": {"notes": ["a", b"b"]}},
        seq=0,
        raw='{"type": "tool_completed"}',
    )
    texts = event_texts(event)
    assert Counter(texts) == Counter(text for _where, text in event_strings(event))
    assert {"tool_completed", "echo", "b", '{"type": "tool_completed"}'} <= set(texts)


def test_token_owners_signature_per_receiver() -> None:
    from harness.detectors._trace_view import CachedScan, TokenOwners
    from harness.model import SimUser
    from harness.observe.tokens import TokenIndex

    users = [
        SimUser(
            user_id=f"usr_{c * 12}",
            thread_ids=(f"thread_{c * 12}",),
            email=f"{c}@example.org",
            display_name=c,
            canaries=(f"cnry_{c * 16}",),
        )
        for c in "ab"
    ]
    owners = TokenOwners(CachedScan(TokenIndex.build(users)))
    a, b = "usr_aaaaaaaaaaaa", "usr_bbbbbbbbbbbb"
    assert owners.signature("nothing here") == ""
    assert owners.signature(f"hi {a}") == a
    assert owners.signature(f"{a} and {b}") is None
    assert not owners.foreign(f"hi {a}", a)
    assert owners.foreign(f"hi {a}", b)
    assert owners.foreign(f"{a} and {b}", a)
    assert not owners.any_foreign(["x", a, "cnry_aaaaaaaaaaaaaaaa"], a)
    assert owners.any_foreign(["x", a, "b@example.org"], a)


def _intrusion(
    b: TraceBuilder, status: TurnStatus, error: str | None
) -> tuple[Trace, SimUser, SimUser, str]:
    """A runs a turn on its thread, then B sends one there; the record says how the target
    answered B."""
    user_a, user_b = b.users
    b.run(b.open(user_a))
    tab_b = b.open(user_b)
    run = b.run(tab_b, (Think("x"),), status="rejected", emit=False)
    trace = b.build()
    thread = user_a.thread_ids[0]
    turns = tuple(
        replace(
            record,
            turn=replace(record.turn, thread_id=thread, victim=user_a.user_id),
            outcome=replace(record.outcome, status=status, error=error, result=None),
        )
        if record.turn.run_id == run
        else record
        for record in trace.turns
    )
    return replace(trace, turns=turns), user_a, user_b, thread


def test_an_intrusion_sent_before_the_victims_turn_reached_the_target_is_not_judged() -> None:
    # Over the wire a later send can arrive first: the target then saw the intruder as the
    # thread's first user, and running its turn is correct. What crosses is still a leak.
    b = TraceBuilder(2)
    victim, intruder = b.users
    probe = b.run(b.open(intruder), (Think("x"),))
    mine = b.run(b.open(victim))
    thread = victim.thread_ids[0]
    turns = tuple(
        replace(r, turn=replace(r.turn, thread_id=thread, victim=victim.user_id))
        if r.turn.run_id == probe
        else r
        for r in b.build().turns
    )
    trace = replace(b.build(), turns=turns)
    assert mine != probe
    assert list(foreign_data.detect(trace, b.index(trace))) == []
    tab = trace.turns[0].session_id
    b.event(tab, "agent_thinking", probe, {"text": f"history: {victim.canaries[0]}"})
    leaked = replace(b.build(), turns=turns)
    found = [f for f in foreign_data.detect(leaked, b.index(leaked)) if "thread of" in f.summary]
    assert [f.severity for f in found] == ["leak"]


def test_a_refused_intrusion_may_name_the_thread_it_was_refused() -> None:
    b = TraceBuilder(2)
    trace, _, _, thread = _intrusion(
        b, "rejected", f"forbidden: thread_id={thread_of(b)!r} is not yours"
    )
    assert list(foreign_data.detect(trace, b.index(trace))) == []
    intrusion = next(record for record in trace.turns if record.turn.victim is not None)
    assert thread in intrusion.outcome.error  # type: ignore[operator]


def test_an_accepted_intrusion_is_foreign_data_naming_both_users() -> None:
    b = TraceBuilder(2)
    trace, user_a, user_b, thread = _intrusion(b, "completed", None)
    (finding,) = foreign_data.detect(trace, b.index(trace))
    assert finding.users == (user_a.user_id, user_b.user_id)
    assert f"on {user_a.user_id}'s thread {thread}: completed, not rejected" in finding.evidence[0]
    assert finding.expected == f"rejected: the thread belongs to {user_a.user_id}"


def test_the_named_thread_is_foreign_again_in_any_other_run_of_the_intruder() -> None:
    b = TraceBuilder(2)
    user_a, user_b = b.users
    tab_b = b.open(user_b)
    later = b.run(tab_b)
    b.event(tab_b, "agent_thinking", later, {"text": user_a.thread_ids[0]}, user_id=user_b.user_id)
    trace, *_ = _intrusion(b, "rejected", None)
    (finding,) = foreign_data.detect(trace, b.index(trace))
    assert "agent_thinking" in finding.evidence[0] and user_a.thread_ids[0] in finding.evidence[0]


def thread_of(b: TraceBuilder) -> str:
    return b.users[0].thread_ids[0]
