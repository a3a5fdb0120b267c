"""A target base: connection ids, thread ownership and the adapter scaffolding declared."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from harness.contract import DEFAULT_CAPABILITIES
from harness.kit._connections import ConnectionRegistry, Owners

__all__ = ["KitTarget"]

_SCAFFOLDING = (ConnectionRegistry, Owners)


class KitTarget:
    """Base class of an in-process target built on the kit.

    It holds a :class:`ConnectionRegistry` (``self.connections``, with its ``owners``), numbers
    connections, and declares its scaffolding in ``adapter_objects()``: every attribute that is
    a :class:`ConnectionRegistry` or an :class:`Owners`, plus what ``scaffolding()`` returns.
    Walks treat those as opaque, so they never wander into the adapter's own bookkeeping (the
    sessions a registry holds, the owners of every thread). A subclass defines ``name``,
    ``open_session``, ``shared_roots`` and, usually, ``start`` and ``stop`` (call the base's:
    they clear the registry so that no owner or tab outlives a run).

    Example:
        >>> target = KitTarget()
        >>> target.next_connection_id()
        'tab-0001'
        >>> target.connections in target.adapter_objects()
        True
    """

    #: What the target can do (see docs/targets.md, "Capabilities").
    capabilities: ClassVar[frozenset[str]] = DEFAULT_CAPABILITIES
    name: str = "kit"

    def __init__(self) -> None:
        #: Delivers the backend's messages to the owner's tabs; holds who owns each id.
        self.connections = ConnectionRegistry()
        self._opened = 0

    def next_connection_id(self, prefix: str = "tab") -> str:
        """A fresh connection id, ``<prefix>-0001`` and up, for the next session."""
        self._opened += 1
        return f"{prefix}-{self._opened:04d}"

    def claim(self, user_id: str, thread_id: str, run_id: str | None = None) -> bool:
        """Record who uses a thread (first come owns it); False when another user owns it.

        Args:
            user_id: the user sending the turn.
            thread_id: the thread the turn names.
            run_id: the run the turn names.
        """
        return self.connections.owners.claim(user_id, thread_id=thread_id, run_id=run_id)

    def scaffolding(self) -> tuple[object, ...]:
        """More adapter objects for walks to treat as opaque (override to add some)."""
        return ()

    def adapter_objects(self) -> tuple[object, ...]:
        """The adapter's scaffolding: its registries and owners, then ``scaffolding()``."""
        found = [value for value in vars(self).values() if isinstance(value, _SCAFFOLDING)]
        found.extend(
            o for value in found if isinstance(value, ConnectionRegistry) for o in [value.owners]
        )
        return (*found, *self.scaffolding())

    async def start(self) -> None:
        """Forget every connection and owner of an earlier run."""
        self.connections.clear()

    async def stop(self) -> None:
        """Forget every connection and owner of this run."""
        self.connections.clear()

    def shared_roots(self) -> Mapping[str, object]:
        """What is meant to be shared; override to list the backend's infrastructure."""
        return {}
