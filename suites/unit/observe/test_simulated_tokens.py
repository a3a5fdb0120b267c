"""The token index knows the users earlier runs of the process simulated."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.observe import tokens
from harness.observe.tokens import (
    TokenIndex,
    forget_simulated,
    remember_simulated,
    simulated_owners,
)
from suites.unit.observe.test_tokens import make_user


@pytest.fixture(autouse=True)
def fresh_process_memory(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(tokens, "_SIMULATED", tokens._Simulated())
    yield


def test_earlier_users_are_known_behind_the_runs_own() -> None:
    earlier, current = make_user("e"), make_user("c")
    remember_simulated([earlier], [(earlier.user_id, "run_eeeeeeeeeeee")])
    index = TokenIndex.build([current], earlier=True)
    text = f"{earlier.canaries[0]} {earlier.thread_ids[0]} run_eeeeeeeeeeee {current.user_id}"
    assert index.scan(text) == [
        (earlier.canaries[0], earlier.user_id),
        (earlier.thread_ids[0], earlier.user_id),
        ("run_eeeeeeeeeeee", earlier.user_id),
        (current.user_id, current.user_id),
    ]
    assert index.kind("run_eeeeeeeeeeee") == "run_id"
    assert index.owners() == (current.user_id,)
    # Generated emails repeat across seeds: an earlier user's email is not remembered.
    assert index.owner(earlier.email) is None


def test_without_earlier_the_index_holds_only_the_given_users() -> None:
    earlier, current = make_user("e"), make_user("c")
    remember_simulated([earlier])
    assert TokenIndex.build([current]).owner(earlier.user_id) is None


def test_a_user_of_this_run_keeps_its_tokens() -> None:
    remember_simulated([make_user("a")])
    index = TokenIndex.build([make_user("a"), make_user("b")], earlier=True)
    assert index.owner("cnry_aaaaaaaaaaaaaaaa") == "usr_aaaaaaaaaaaa"
    assert index.collisions() == ()


def test_the_oldest_users_are_forgotten_past_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "MAX_REMEMBERED_TOKENS", 12)
    for letter in "abc":  # 5 tokens each: user id, two thread ids, two canaries
        remember_simulated([make_user(letter)])
    assert simulated_owners() == ("usr_bbbbbbbbbbbb", "usr_cccccccccccc")
    forget_simulated()
    assert simulated_owners() == ()
