"""KitTarget numbers connections and declares its scaffolding as adapter objects."""

from __future__ import annotations

import asyncio

from harness.kit import ConnectionRegistry, KitTarget
from harness.targets import describe


class WithExtra(KitTarget):
    def __init__(self) -> None:
        super().__init__()
        self.second = ConnectionRegistry()
        self.notes: dict[str, str] = {}

    def scaffolding(self) -> tuple[object, ...]:
        return (self.notes,)


def test_adapter_objects_hold_every_registry_its_owners_and_the_extras() -> None:
    target = WithExtra()
    declared = describe(target).adapter_objects  # type: ignore[arg-type]  # a base: no sessions
    ids = {id(obj) for obj in declared}
    for obj in (target.connections, target.connections.owners, target.second, target.notes):
        assert id(obj) in ids
    assert len(declared) == 5


def test_connection_ids_are_numbered_and_start_forgets_owners() -> None:
    target = KitTarget()
    assert [target.next_connection_id("conn") for _ in range(2)] == ["conn-0001", "conn-0002"]
    assert target.claim("usr_a", "thread_1")
    assert not target.claim("usr_b", "thread_1")
    asyncio.run(target.start())
    assert target.claim("usr_b", "thread_1")
    assert target.shared_roots() == {}
