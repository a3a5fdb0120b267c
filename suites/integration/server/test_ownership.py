"""The ownership table: a per-user thread quota instead of a global eviction."""

from __future__ import annotations

import pytest

import harness_backend.ownership
from harness_backend.ownership import OwnershipStatistics, OwnershipTable
from harness_backend.protocol import ProtocolError


def test_all_lists_the_public_names() -> None:
    assert set(harness_backend.ownership.__all__) == {"OwnershipStatistics", "OwnershipTable"}


def refusal(table: OwnershipTable, user_id: str, thread_id: str, run_id: str) -> ProtocolError:
    with pytest.raises(ProtocolError) as caught:
        table.claim(user_id, thread_id, run_id)
    return caught.value


def test_another_users_thread_or_run_is_not_found_or_not_yours() -> None:
    table = OwnershipTable(capacity=100)
    table.claim("usr_a", "thread_1", "run_1")
    table.claim("usr_a", "thread_1", "run_2")  # same user, same thread: fine
    error = refusal(table, "usr_b", "thread_1", "run_3")
    assert (error.code, error.run_id) == ("forbidden", "run_3")
    assert "thread_id='thread_1' not found or not yours" in error.message
    assert "usr_a" not in error.message and "belongs" not in error.message
    error = refusal(table, "usr_b", "thread_b", "run_1")
    assert error.code == "forbidden"
    assert "run_id='run_1' not found or not yours" in error.message
    error = refusal(table, "usr_a", "thread_1", "run_1")
    assert (error.code, "already used" in error.message) == ("invalid_message", True)
    # A refused claim records nothing: run_3 and thread_b are still free for usr_b.
    table.claim("usr_b", "thread_b", "run_3")
    assert table.owner_of_thread("thread_b") == "usr_b"


def test_a_user_flooding_fresh_threads_never_evicts_another_users_thread() -> None:
    table = OwnershipTable(capacity=3)
    table.claim("usr_owner", "thread_owned", "run_owner_1")
    for number in range(3):
        table.claim("usr_flood", f"thread_f{number}", f"run_f{number}")
    for number in range(3, 50):
        error = refusal(table, "usr_flood", f"thread_f{number}", f"run_f{number}")
        assert error.code == "rejected"
        assert "threads_per_user=3" in error.message
    assert table.owner_of_thread("thread_owned") == "usr_owner"
    assert refusal(table, "usr_flood", "thread_owned", "run_steal").code == "forbidden"
    table.claim("usr_owner", "thread_owned", "run_owner_2")
    # The flooder keeps using the threads it owns.
    table.claim("usr_flood", "thread_f0", "run_f_again")
    assert table.statistics() == OwnershipStatistics(
        users=2, threads=4, runs=6, refused_by_quota=47
    )


def test_only_a_users_own_oldest_runs_are_forgotten() -> None:
    table = OwnershipTable(capacity=10, runs_per_user=2)
    table.claim("usr_a", "thread_a", "run_a1")
    table.claim("usr_b", "thread_b", "run_b1")
    for number in range(2, 6):
        table.claim("usr_a", "thread_a", f"run_a{number}")
    assert table.statistics().runs == 3  # usr_a's last two and usr_b's one
    assert refusal(table, "usr_a", "thread_a", "run_b1").code == "forbidden"
    table.claim("usr_a", "thread_a", "run_a1")  # forgotten, its own: usable again


@pytest.mark.parametrize(
    "options", [{"capacity": 0}, {"runs_per_user": 0}, {"capacity": True}, {"capacity": 1.5}]
)
def test_bad_sizes_are_refused(options: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="must be an integer >= 1"):
        OwnershipTable(**options)  # type: ignore[arg-type]


def test_a_resumable_table_lets_a_user_send_its_own_run_again_on_its_thread() -> None:
    table = OwnershipTable(capacity=100, runs_per_user=2, resumable_runs=True)
    table.claim("usr_a", "thread_1", "run_1")
    table.claim("usr_a", "thread_1", "run_1")  # a retry, or a second tab resuming the run
    table.claim("usr_a", "thread_2", "run_2")
    error = refusal(table, "usr_a", "thread_2", "run_1")  # the run, on another thread
    assert (error.code, "already used" in error.message) == ("invalid_message", True)
    error = refusal(table, "usr_b", "thread_b", "run_1")  # another user's run: never
    assert error.code == "forbidden"
    assert table.statistics().runs == 2
    # Past runs_per_user the oldest run is forgotten, its thread with it: a fresh claim.
    table.claim("usr_a", "thread_2", "run_3")
    table.claim("usr_a", "thread_2", "run_1")
    assert table.statistics().runs == 2
