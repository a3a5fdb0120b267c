from __future__ import annotations

import collections
import dataclasses
import enum
import json
import types
import typing
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness import model
from harness.errors import HarnessError
from harness.model import (
    CallTool,
    Checkpoint,
    Event,
    Fail,
    Finding,
    FoundObject,
    FoundValue,
    Pause,
    RetentionRecord,
    RootWalk,
    RunResult,
    Scenario,
    ScheduleRecord,
    SessionPlan,
    SessionRecord,
    SimUser,
    Step,
    Think,
    Trace,
    Turn,
    TurnOutcome,
    TurnRecord,
)
from harness.serialization import (
    RecordDataError,
    canonical_json,
    digest,
    from_data,
    step_from_data,
    to_data,
)
from suites.unit.reporting.traces import make_trace

# --------------------------------------------------------------------------- strategies

texts = st.text(max_size=8)
names = st.text(alphabet="abcdef_0123", min_size=1, max_size=8)
floats = st.floats(allow_nan=False, allow_infinity=False)
ints = st.integers(min_value=-(2**40), max_value=2**40)
json_values = st.recursive(
    st.none() | st.booleans() | ints | floats | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=6,
)
json_objects = st.dictionaries(texts, json_values, max_size=3)

steps: st.SearchStrategy[Step] = st.one_of(
    st.builds(Think, text=texts),
    st.builds(CallTool, name=names, params=json_objects),
    st.builds(Pause, seconds=floats),
    st.builds(Fail, reason=texts),
)
users = st.builds(
    SimUser,
    user_id=names,
    thread_ids=st.tuples(names) | st.tuples(names, names),
    email=texts,
    display_name=texts,
    canaries=st.lists(texts, max_size=3).map(tuple),
    token=texts,
    company=texts,
)
turns = st.builds(
    Turn,
    run_id=names,
    thread_id=names,
    message=texts,
    plan=st.lists(steps, max_size=3).map(tuple),
)
optional_floats = st.none() | floats
session_plans = st.builds(
    SessionPlan,
    session_id=names,
    user_id=names,
    turns=st.lists(turns, max_size=2).map(tuple),
    opens_at=floats,
    gap=floats,
    burst=st.booleans(),
    close_after=optional_floats,
    reopen_turns=st.lists(turns, max_size=1).map(tuple),
    cancel_after=optional_floats,
    keep_open=floats,
)
scenarios = st.builds(
    Scenario,
    name=names,
    seed=ints,
    users=st.lists(users, max_size=2).map(tuple),
    sessions=st.lists(session_plans, max_size=2).map(tuple),
    turn_timeout=floats,
    description=texts,
    checkpoint_interval=floats,
    starvation_factor=floats,
    heavy_users=st.lists(names, max_size=3).map(tuple),
)
optional_names = st.none() | names
events = st.builds(
    Event,
    type=names,
    run_id=optional_names,
    thread_id=optional_names,
    user_id=optional_names,
    payload=json_objects,
    seq=ints,
    connection_id=optional_names,
    t=optional_floats,
    raw=st.none() | texts,
    step=st.none() | ints,
)
outcomes = st.builds(
    TurnOutcome,
    run_id=names,
    status=st.sampled_from(typing.get_args(model.TurnStatus)),
    result=st.none() | json_objects,
    error=st.none() | texts,
)
sessions = st.builds(
    SessionRecord,
    session_id=names,
    user_id=names,
    opened_at=floats,
    closed_at=optional_floats,
    events=st.lists(events, max_size=3).map(tuple),
    connection_id=optional_names,
)
turn_records = st.builds(
    TurnRecord,
    session_id=names,
    user_id=names,
    turn=turns,
    started_at=floats,
    ended_at=floats,
    outcome=outcomes,
    step=ints,
    burst=st.booleans(),
    crash=st.none() | texts,
)
found_values = st.builds(FoundValue, path=texts, value=texts)
walks = st.builds(
    RootWalk,
    owner=optional_names,
    session_id=optional_names,
    active_runs=st.lists(names, max_size=3).map(tuple),
    values=st.lists(found_values, max_size=3).map(tuple),
    visited=ints,
    truncated=st.booleans(),
)
found_objects = st.builds(
    FoundObject,
    identity=ints,
    type_name=names,
    paths=st.dictionaries(names, texts, max_size=3),
)
checkpoints = st.builds(
    Checkpoint,
    index=ints,
    label=texts,
    t=floats,
    step=ints,
    walks=st.lists(walks, max_size=2).map(tuple),
    shared=st.lists(found_objects, max_size=2).map(tuple),
)
retentions = st.builds(
    RetentionRecord,
    alive=st.dictionaries(names, st.lists(texts, max_size=3).map(tuple), max_size=3),
    shared_values=st.lists(found_values, max_size=3).map(tuple),
    reachable=st.dictionaries(texts, texts, max_size=3),
    checked=st.booleans(),
    note=texts,
)
schedules = st.builds(
    ScheduleRecord,
    strategy=names,
    seed=ints,
    steps=ints,
    digest=texts,
    decisions=st.lists(ints, max_size=5).map(tuple),
)
traces = st.builds(
    Trace,
    scenario=names,
    seed=ints,
    strategy=names,
    target=names,
    users=st.lists(users, max_size=2).map(tuple),
    sessions=st.lists(sessions, max_size=2).map(tuple),
    turns=st.lists(turn_records, max_size=2).map(tuple),
    checkpoints=st.lists(checkpoints, max_size=1).map(tuple),
    retention=st.none() | retentions,
    limits=st.dictionaries(names, ints, max_size=3),
    capabilities=st.frozensets(names, max_size=3),
    schedule=st.none() | schedules,
    notes=st.lists(texts, max_size=3).map(tuple),
    deterministic=st.booleans(),
    scenario_spec=st.none() | scenarios,
    heavy_users=st.lists(names, max_size=3).map(tuple),
    starvation_factor=floats,
    crashes=st.lists(texts, max_size=3).map(tuple),
)
findings = st.builds(
    Finding,
    kind=st.sampled_from(model.FINDING_KINDS),
    users=st.lists(names, max_size=3).map(tuple),
    summary=texts,
    evidence=st.lists(texts, max_size=3).map(tuple),
    first_seen=ints,
    replay=texts,
    expected=st.none() | texts,
    actual=st.none() | texts,
)
run_results = st.builds(
    RunResult,
    scenario=names,
    seed=ints,
    strategy=names,
    target=names,
    trace=traces,
    findings=st.lists(findings, max_size=2).map(tuple),
    trace_digest=texts,
    replay=texts,
    fault=optional_names,
    stats=json_objects,
    notes=st.lists(texts, max_size=3).map(tuple),
)
records = st.one_of(
    users, turns, session_plans, scenarios, events, outcomes, sessions, turn_records,
    checkpoints, retentions, schedules, traces, findings, run_results, steps,
)  # fmt: skip

# --------------------------------------------------------------------------- round trips


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records)
def test_every_record_round_trips_through_json(record: Any) -> None:
    data = to_data(record)
    # Plain JSON data: the canonical bytes parse back to the same data.
    assert json.loads(canonical_json(data)) == data
    rebuilt = from_data(type(record), json.loads(canonical_json(record)))
    assert rebuilt == record
    assert type(rebuilt) is type(record)


@settings(max_examples=50, deadline=None)
@given(steps)
def test_steps_use_the_wire_format_and_come_back_through_the_union(step: Step) -> None:
    data = to_data(step)
    wire = {Think: "think", CallTool: "tool", Pause: "pause", Fail: "fail"}[type(step)]
    assert data["step"] == wire
    assert from_data(Step, data) == step
    assert step_from_data(data) == step


def test_wire_format_of_each_step_is_exact() -> None:
    plan = (
        Think(text="t"),
        CallTool(name="echo", params={"a": [1]}),
        Pause(seconds=0.5),
        Fail("r"),
    )
    assert to_data(plan) == [
        {"step": "think", "text": "t"},
        {"step": "tool", "name": "echo", "params": {"a": [1]}},
        {"step": "pause", "seconds": 0.5},
        {"step": "fail", "reason": "r"},
    ]
    # A tool step without params is a call with none.
    assert from_data(Step, {"step": "tool", "name": "echo"}) == CallTool(name="echo")


def test_tuples_and_frozensets_come_back_with_their_types() -> None:
    trace = make_trace(2)
    rebuilt = from_data(Trace, json.loads(canonical_json(trace)))
    assert isinstance(rebuilt.users, tuple) and isinstance(rebuilt.users[0].thread_ids, tuple)
    assert isinstance(rebuilt.sessions[0].events, tuple)
    assert rebuilt.capabilities == frozenset({"tools", "scripted_plan"})
    assert to_data(trace)["capabilities"] == ["scripted_plan", "tools"]
    assert rebuilt == trace


# --------------------------------------------------------------------------- canonical form


def test_canonical_json_is_sorted_compact_utf8() -> None:
    finding = Finding(kind="hang", users=("usr_1",), summary="é <x>", first_seen=3)
    assert (
        canonical_json(finding)
        == (
            '{"actual":null,"count":1,"evidence":[],"examples":[],"expected":null,'
            '"first_seen":3,"group_key":"","kind":"hang","pairs":[],"replay":"",'
            '"severity":"leak","sites":[],"summary":"é <x>","users":["usr_1"]}'
        ).encode()
    )
    assert canonical_json({"x": 0.1, "y": 1e-07, "z": 1.0}) == b'{"x":0.1,"y":1e-07,"z":1.0}'


def test_digest_is_stable_across_equal_traces_and_mapping_orders() -> None:
    first, second = make_trace(3), make_trace(3)
    assert first is not second
    assert digest(first) == digest(second)
    value = digest(first)
    assert len(value) == 64 and int(value, 16) >= 0
    event = first.sessions[0].events[0]
    reordered = dataclasses.replace(event, payload=dict(reversed(list({"a": 1, "b": 2}.items()))))
    ordered = dataclasses.replace(event, payload={"a": 1, "b": 2})
    assert canonical_json(reordered) == canonical_json(ordered)


@pytest.mark.parametrize(
    "change",
    [
        lambda t: dataclasses.replace(t, seed=t.seed + 1),
        lambda t: dataclasses.replace(t, strategy="fifo"),
        lambda t: dataclasses.replace(
            t, users=(dataclasses.replace(t.users[0], canaries=("CANARY-X",)), *t.users[1:])
        ),
        lambda t: dataclasses.replace(
            t,
            sessions=(
                dataclasses.replace(
                    t.sessions[0],
                    events=(
                        dataclasses.replace(t.sessions[0].events[0], t=0.5),
                        *t.sessions[0].events[1:],
                    ),
                ),
                *t.sessions[1:],
            ),
        ),
        lambda t: dataclasses.replace(t, capabilities=frozenset({"tools"})),
    ],
    ids=["seed", "strategy", "canary", "event-time", "capabilities"],
)
def test_digest_changes_when_one_field_changes(change: Any) -> None:
    trace = make_trace(3)
    assert digest(change(trace)) != digest(trace)


# --------------------------------------------------------------------------- errors


def test_missing_field_names_its_path() -> None:
    data = to_data(make_trace(1))
    del data["sessions"][0]["events"][2]["type"]
    with pytest.raises(RecordDataError, match=r"Trace\.sessions\[0\]\.events\[2\]\.type: missing"):
        from_data(Trace, data)


def test_wrong_types_are_named_with_value_and_expectation() -> None:
    with pytest.raises(RecordDataError, match=r"Finding\.first_seen: value=True \(type bool\)"):
        from_data(Finding, {"kind": "hang", "users": [], "summary": "", "first_seen": True})
    with pytest.raises(RecordDataError, match=r"Finding\.users: value='usr_1' .* should be a list"):
        from_data(Finding, {"kind": "hang", "users": "usr_1", "summary": ""})
    with pytest.raises(RecordDataError, match=r"TurnOutcome\.status: value='done' is not one of"):
        from_data(TurnOutcome, {"run_id": "r", "status": "done"})


def test_unknown_step_lists_the_known_ones() -> None:
    with pytest.raises(RecordDataError, match=r"step='sleep' is not a plan step.*'pause'"):
        from_data(Step, {"step": "sleep", "seconds": 1})
    with pytest.raises(RecordDataError, match=r"not a Think step"):
        from_data(Think, {"step": "fail", "reason": "x"})


def test_live_objects_have_no_json_form() -> None:
    event = dataclasses.replace(make_trace(1).sessions[0].events[0], payload={"obj": object()})
    with pytest.raises(
        RecordDataError, match=r"\$\.payload\['obj'\]: value=<object object"
    ) as info:
        to_data(event)
    assert isinstance(info.value, HarnessError)


def test_unknown_keys_are_ignored_for_newer_files() -> None:
    data = to_data(Finding(kind="hang", users=("u",), summary="s"))
    data["confidence"] = "high"  # a field this harness does not know (severity it does)
    assert from_data(Finding, data) == Finding(kind="hang", users=("u",), summary="s")


def test_subclasses_and_other_mappings_in_a_payload_keep_their_json_form() -> None:
    class Mode(enum.StrEnum):
        FAST = "fast"

    class Level(enum.IntEnum):
        HIGH = 3

    payload: dict[Any, Any] = {  # an int key too: a target's payload is not checked
        "mode": Mode.FAST,
        "level": Level.HIGH,
        "ordered": collections.OrderedDict(b=1, a=(2, {"x": None})),
        "view": types.MappingProxyType({"k": [1.5, True]}),
        1: "int key",
        "tags": frozenset({"b", "a"}),
    }
    event = dataclasses.replace(make_trace(1).sessions[0].events[0], payload=payload)
    data = to_data(event)["payload"]
    assert data == {
        "mode": "fast",
        "level": 3,
        "ordered": {"b": 1, "a": [2, {"x": None}]},
        "view": {"k": [1.5, True]},
        "1": "int key",
        "tags": ["a", "b"],
    }
    assert json.loads(canonical_json(data)) == data
