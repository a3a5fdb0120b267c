"""A crash on another user's data is ``foreign-data`` on the user whose turn crashed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import pytest

from harness.detectors import run_detectors
from harness.model import Finding, Trace, TurnOutcome
from harness.observe import tokens
from harness.observe.tokens import remember_simulated
from harness.runner._driver import _describe_crash
from suites.unit.detectors.trace_builder import TraceBuilder, make_user


@pytest.fixture(autouse=True)
def fresh_process_memory(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts as a fresh process would: no users of earlier runs remembered."""
    monkeypatch.setattr(tokens, "_SIMULATED", tokens._Simulated())
    yield


def _crashed(builder: TraceBuilder, crash_of: dict[str, str]) -> Trace:
    """The builder's trace, the turns of ``crash_of`` crashed as the runner records them."""
    trace = builder.build()
    turns = tuple(
        replace(
            record,
            crash=crash_of[record.turn.run_id],
            outcome=TurnOutcome(
                run_id=record.turn.run_id, status="error", error=crash_of[record.turn.run_id]
            ),
        )
        if record.turn.run_id in crash_of
        else record
        for record in trace.turns
    )
    return replace(trace, turns=turns)


def _parse_error(reply: str) -> str:
    try:
        json.loads(reply)
    except ValueError as exc:
        return _describe_crash(exc)
    raise AssertionError("expected a parse error")


def _of_kind(findings: tuple[Finding, ...], kind: str) -> list[Finding]:
    return [finding for finding in findings if finding.kind == kind]


def test_the_crash_text_carries_the_data_the_parser_failed_on() -> None:
    text = _parse_error("OK cnry_00000000000000aa")
    assert text.startswith("JSONDecodeError: Expecting value")
    assert text.endswith("failed on: 'OK cnry_00000000000000aa'")


def test_a_crash_on_another_users_reply_is_foreign_data_with_the_crash_as_evidence() -> None:
    b = TraceBuilder(2)
    alice, bob = b.users
    b.run(b.open(alice))
    run = b.run(b.open(bob))
    crash = _parse_error(f"+{alice.canaries[0]} {alice.user_id}")
    findings = run_detectors(_crashed(b, {run: crash}))
    (foreign,) = _of_kind(findings, "foreign-data")
    assert foreign.users == (alice.user_id, bob.user_id)
    assert foreign.summary.startswith(f"a turn of {bob.user_id} crashed on data of {alice.user_id}")
    assert "JSONDecodeError" in foreign.summary
    assert f"run {run}" in foreign.evidence[0]
    assert alice.canaries[0] in foreign.evidence[0]
    assert len(_of_kind(findings, "crash")) == 1  # the crash is still reported as such


def test_a_crash_on_the_users_own_data_is_only_a_crash() -> None:
    b = TraceBuilder(2)
    alice, bob = b.users
    b.run(b.open(alice))
    run = b.run(b.open(bob))
    crash = _parse_error(f"+{bob.canaries[0]} {bob.user_id}")
    findings = run_detectors(_crashed(b, {run: crash}))
    assert [finding.kind for finding in findings] == ["crash"]


def test_a_token_of_a_user_of_an_earlier_run_is_foreign() -> None:
    earlier = make_user(0xEA51)
    b = TraceBuilder(1)
    (carol,) = b.users
    run = b.run(b.open(carol))
    trace = _crashed(b, {run: _parse_error(f"cached {earlier.canaries[1]}")})

    assert _of_kind(run_detectors(trace), "foreign-data") == []  # unknown string: not a token
    remember_simulated([earlier], [(earlier.user_id, "run_00000000ea51")])
    (foreign,) = _of_kind(run_detectors(trace), "foreign-data")
    assert foreign.users == (earlier.user_id, carol.user_id)
    assert tokens.simulated_owners() == (earlier.user_id,)


def test_an_intruder_naming_the_victims_thread_in_its_crash_is_not_foreign() -> None:
    b = TraceBuilder(2)
    alice, bob = b.users
    b.run(b.open(alice))
    run = b.run(b.open(bob))
    trace = _crashed(b, {run: f"KeyError: {alice.thread_ids[0]!r}"})
    turns = tuple(
        replace(
            record,
            turn=replace(record.turn, thread_id=alice.thread_ids[0], victim=alice.user_id),
        )
        if record.turn.run_id == run
        else record
        for record in trace.turns
    )
    findings = run_detectors(replace(trace, turns=turns), only=["outcomes"])
    assert [finding.kind for finding in findings] == ["crash"]


def test_crash_text_with_braces_is_summarized_not_formatted() -> None:
    b = TraceBuilder(2)
    alice, bob = b.users
    tab = b.open(bob)
    runs = [b.run(tab), b.run(tab)]
    crash = f"ValueError: bad record {{'user_id': '{alice.user_id}'}}"
    findings = run_detectors(_crashed(b, dict.fromkeys(runs, crash)), only=["outcomes"])
    summaries = {finding.kind: finding.summary for finding in findings}
    assert summaries["crash"].endswith(f"{{'user_id': '{alice.user_id}'}}")
    assert summaries["foreign-data"].startswith(f"2 turns of {bob.user_id} crashed on data")
