"""The observer: walks of live roots at checkpoints, shared objects, and retention after close."""

from __future__ import annotations

import gc
import itertools
from collections.abc import Mapping
from typing import Any

from harness.model import SimUser
from harness.observe import Observer, TokenIndex
from harness.users import UserFactory


class Workspace:
    def __init__(self, owner: str, notes: list[str]) -> None:
        self.owner = owner
        self.notes = notes


class Tab:
    def __init__(self, roots: dict[str, object]) -> None:
        self._roots = roots

    def roots(self) -> Mapping[str, object]:
        return self._roots


def _users(count: int) -> tuple[SimUser, ...]:
    import random

    factory = UserFactory(random.Random(7))
    return tuple(factory.user() for _ in range(count))


def _observer(users: tuple[SimUser, ...], shared: Mapping[str, object]) -> Observer:
    steps = itertools.count()
    return Observer(
        TokenIndex.build(users),
        shared_roots=shared,
        clock=lambda: 0.0,
        next_step=lambda: next(steps),
    )


def test_a_list_reachable_from_two_users_is_shared_at_a_checkpoint() -> None:
    alice, bob = _users(2)
    common: list[str] = []
    observer = _observer((alice, bob), {})
    observer.session_opened("s1", alice.user_id, Tab({"engine": Workspace(alice.user_id, common)}))
    observer.session_opened("s2", bob.user_id, Tab({"engine": Workspace(bob.user_id, common)}))
    checkpoint = observer.checkpoint("test")
    assert checkpoint is not None
    shared = [found for found in checkpoint.shared if found.type_name == "list"]
    assert shared and set(shared[0].paths) == {alice.user_id, bob.user_id}
    assert shared[0].paths[alice.user_id] == "engine.notes"


def test_separate_lists_are_not_shared() -> None:
    alice, bob = _users(2)
    observer = _observer((alice, bob), {})
    observer.session_opened("s1", alice.user_id, Tab({"engine": Workspace(alice.user_id, [])}))
    observer.session_opened("s2", bob.user_id, Tab({"engine": Workspace(bob.user_id, [])}))
    checkpoint = observer.checkpoint("test")
    assert checkpoint is None or not checkpoint.shared


def test_a_closed_users_data_left_in_a_shared_root_is_retained() -> None:
    alice, bob = _users(2)
    archive: dict[str, Any] = {}
    observer = _observer((alice, bob), {"archive": archive})
    workspace = Workspace(alice.user_id, [alice.canaries[0]])
    observer.session_opened("s1", alice.user_id, Tab({"engine": workspace}))
    observer.checkpoint("before")
    archive["last"] = workspace  # the bug: kept after close
    observer.session_closed("s1")
    del workspace
    gc.collect()
    record = observer.retention()
    assert record.checked
    assert alice.user_id in record.alive
    assert any(alice.canaries[0] in found.value for found in record.shared_values)


def test_nothing_is_retained_when_the_shared_root_lets_go() -> None:
    alice, bob = _users(2)
    observer = _observer((alice, bob), {"archive": {}})
    workspace = Workspace(alice.user_id, [alice.canaries[0]])
    observer.session_opened("s1", alice.user_id, Tab({"engine": workspace}))
    observer.checkpoint("before")
    observer.session_closed("s1")
    del workspace
    gc.collect()
    record = observer.retention()
    assert record.alive == {} and record.shared_values == ()


def _stored(checkpoint: Any) -> list[tuple[str, str]]:
    if checkpoint is None:
        return []
    return [(found.path, found.value) for walk in checkpoint.walks for found in walk.values]


def test_a_value_is_stored_once_per_owner_and_active_runs() -> None:
    alice, bob = _users(2)
    observer = _observer((alice, bob), {})
    notes = [bob.canaries[0]]
    observer.session_opened("s1", alice.user_id, Tab({"engine": Workspace(alice.user_id, notes)}))
    assert _stored(observer.checkpoint("first")) == [("engine.notes[0]", bob.canaries[0])]
    # Found again in the same state: nothing new to store, so the walk does not offer it.
    assert _stored(observer.checkpoint("again")) == []
    # Moved in the list only (a bounded history shifting): still not new.
    notes.insert(0, "plain note")
    assert _stored(observer.checkpoint("moved")) == []
    # A new value is stored, alone.
    notes.append(bob.user_id)
    assert _stored(observer.checkpoint("new")) == [("engine.notes[2]", bob.user_id)]
    # Another set of active runs is another state: what it holds then is stored again.
    observer.turn_started("s1", "run_000000000001")
    assert _stored(observer.checkpoint("turn")) == [
        ("engine.notes[1]", bob.canaries[0]),
        ("engine.notes[2]", bob.user_id),
    ]


def test_clean_checkpoints_are_swept_and_a_found_leak_is_walked_from_then_on() -> None:
    alice, bob = _users(2)
    observer = _observer((alice, bob), {})
    notes = [alice.canaries[0]]
    observer.session_opened("s1", alice.user_id, Tab({"engine": Workspace(alice.user_id, notes)}))
    observer.session_opened("s2", bob.user_id, Tab({"engine": Workspace(bob.user_id, [])}))
    walker = observer._walker
    walks: list[str] = []
    sweeps: list[str] = []
    walk, sweep = walker.walk, walker.sweep

    def counted_walk(roots: Mapping[str, object], **options: Any) -> Any:
        walks.append(str(options["owner"]))
        return walk(roots, **options)

    def counted_sweep(roots: Mapping[str, object], **options: Any) -> Any:
        sweeps.append(str(options["owner"]))
        return sweep(roots, **options)

    walker.walk = counted_walk  # type: ignore[method-assign]
    walker.sweep = counted_sweep  # type: ignore[method-assign]
    # A correct pair of sessions: swept, nothing recorded, still counted as walks.
    assert observer.checkpoint("clean") is None
    assert (sweeps, walks) == ([alice.user_id, bob.user_id], [])
    assert observer.statistics.walks == 2 and observer.statistics.checkpoints == 1
    assert observer.statistics.objects_visited >= 4
    # Bob's data lands in Alice's notes: her sweep hands over, and the walks report it.
    notes.append(bob.canaries[0])
    checkpoint = observer.checkpoint("leak")
    assert checkpoint is not None
    [found] = [walk for walk in checkpoint.walks if walk.owner == alice.user_id]
    assert [value.value for value in found.values] == [bob.canaries[0]]
    assert walks == [alice.user_id, bob.user_id]
    # From then on, checkpoints walk at once.
    sweeps.clear()
    observer.checkpoint("after")
    assert sweeps == [] and walks[-2:] == [alice.user_id, bob.user_id]
