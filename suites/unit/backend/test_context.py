from __future__ import annotations

import dataclasses

import pytest

from harness_backend import PLACEHOLDER_IDS, InvalidContextError, UserExecutionContext

USER = "usr_0123456789ab"
THREAD = "thread_0123456789ab"
RUN = "run_0123456789ab"


def test_create_fills_request_id_and_validates() -> None:
    context = UserExecutionContext.create(USER, THREAD, RUN)
    assert (context.user_id, context.thread_id, context.run_id) == (USER, THREAD, RUN)
    assert context.request_id == RUN
    assert context.depth == 0
    assert context.parent_run_id is None
    assert dict(context.metadata) == {}


def test_context_is_frozen_and_slotted() -> None:
    context = UserExecutionContext.create(USER, THREAD, RUN)
    assert "__slots__" in UserExecutionContext.__dict__
    with pytest.raises(dataclasses.FrozenInstanceError):
        context.user_id = "usr_ffffffffffff"  # type: ignore[misc]


@pytest.mark.parametrize("placeholder", sorted(PLACEHOLDER_IDS))
@pytest.mark.parametrize("field_name", ["user_id", "thread_id", "run_id"])
def test_each_placeholder_is_refused_in_each_id(placeholder: str, field_name: str) -> None:
    ids = {"user_id": USER, "thread_id": THREAD, "run_id": RUN}
    ids[field_name] = placeholder.upper() if placeholder.isalpha() else placeholder
    with pytest.raises(InvalidContextError) as info:
        UserExecutionContext.create(ids["user_id"], ids["thread_id"], ids["run_id"])
    message = str(info.value)
    assert f"{field_name}={ids[field_name]!r}" in message
    assert "placeholder" in message


@pytest.mark.parametrize("bad", ["", "a b", "x" * 129, "usr/1", None, 7])
def test_malformed_ids_are_refused(bad: object) -> None:
    with pytest.raises(InvalidContextError) as info:
        UserExecutionContext.create(bad, THREAD, RUN)  # type: ignore[arg-type]
    assert f"user_id={bad!r}" in str(info.value)


def test_metadata_is_deep_copied() -> None:
    source = {"canary": "cnry_1", "nested": {"items": [1, 2]}}
    context = UserExecutionContext.create(USER, THREAD, RUN, metadata=source)
    source["canary"] = "changed"
    source["nested"]["items"].append(3)  # type: ignore[index]
    assert context.metadata["canary"] == "cnry_1"
    assert context.metadata["nested"]["items"] == [1, 2]


def test_metadata_is_read_only() -> None:
    context = UserExecutionContext.create(USER, THREAD, RUN, metadata={"canary": "cnry_1"})
    with pytest.raises(TypeError):
        context.metadata["canary"] = "other"  # type: ignore[index]


def test_two_contexts_from_one_dict_share_nothing_mutable() -> None:
    shared = {"nested": {"k": "v"}}
    first = UserExecutionContext.create(USER, THREAD, RUN, metadata=shared)
    second = UserExecutionContext.create("usr_ba9876543210", THREAD, RUN, metadata=shared)
    assert first.metadata["nested"] is not second.metadata["nested"]
    assert first.metadata["nested"] is not shared["nested"]


def test_child_goes_one_level_deeper_up_to_max_depth() -> None:
    context = UserExecutionContext.create(USER, THREAD, RUN, metadata={"k": {"v": 1}})
    child = context.child("search")
    assert child.depth == 1
    assert child.user_id == USER and child.run_id == RUN
    assert child.parent_run_id == RUN
    assert child.operation == "search"
    assert child.request_id == f"{RUN}:search"
    assert child.metadata["k"] == {"v": 1}
    assert child.metadata["k"] is not context.metadata["k"]
    deepest = child
    for level in range(2, UserExecutionContext.MAX_DEPTH + 1):
        deepest = deepest.child(f"op{level}")
        assert deepest.depth == level
    with pytest.raises(InvalidContextError) as info:
        deepest.child("too_deep")
    assert f"MAX_DEPTH={UserExecutionContext.MAX_DEPTH}" in str(info.value)


def test_child_refuses_a_placeholder_operation() -> None:
    context = UserExecutionContext.create(USER, THREAD, RUN)
    with pytest.raises(InvalidContextError, match="operation='default'"):
        context.child("default")


def test_depth_out_of_range_is_refused() -> None:
    with pytest.raises(InvalidContextError, match="depth=9"):
        UserExecutionContext(user_id=USER, thread_id=THREAD, run_id=RUN, depth=9)


def test_non_mapping_metadata_is_refused() -> None:
    with pytest.raises(InvalidContextError, match="metadata=\\['x'\\]"):
        UserExecutionContext(user_id=USER, thread_id=THREAD, run_id=RUN, metadata=["x"])  # type: ignore[arg-type]
