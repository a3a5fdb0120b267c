"""A recording connection registry: the backend sends, the owner's tabs receive.

Factory-pattern backends take a connection manager (a WebSocket manager, a notifier) and send
each event through it by user, by thread or by run. :class:`ConnectionRegistry` is that manager
for an in-process run: the backend's messages reach the sessions of the user the backend named
(``send_to_user``) or of the user who owns the thread or run it named (``send_to_thread``,
``send_to_run``, ``deliver``). Delivery follows the id the backend chose, never the session that
started the turn, so a backend that sends with a stale context or a wrong user id misroutes
visibly. It is adapter scaffolding: :class:`~harness.kit.KitTarget` declares it in
``adapter_objects()`` so walks do not wander into the sessions it holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

__all__ = ["ConnectionRegistry", "Owners", "Receiver"]


class Receiver(Protocol):
    """Anything with a user and a ``receive(message)``: a :class:`RecordingSession`."""

    @property
    def user(self) -> Any: ...

    def receive(self, message: Mapping[str, Any]) -> None: ...


class Owners:
    """Who owns each thread and run: the first user to use an id owns it (a gateway's records).

    Example:
        >>> owners = Owners()
        >>> owners.claim("usr_a", thread_id="thread_1")
        True
        >>> owners.claim("usr_b", thread_id="thread_1")
        False
    """

    def __init__(self) -> None:
        self._threads: dict[str, str] = {}
        self._runs: dict[str, str] = {}

    def claim(
        self, user_id: str, *, thread_id: str | None = None, run_id: str | None = None
    ) -> bool:
        """Record ``user_id`` as owner of ids nobody owns yet; False if another user owns one.

        Args:
            user_id: the user sending the turn.
            thread_id: the thread the turn names.
            run_id: the run the turn names.
        """
        pairs = [(self._threads, thread_id), (self._runs, run_id)]
        if any(i is not None and table.get(i, user_id) != user_id for table, i in pairs):
            return False
        for table, ident in pairs:
            if ident is not None:
                table.setdefault(ident, user_id)
        return True

    def owner(self, *, thread_id: str | None = None, run_id: str | None = None) -> str | None:
        """The owner of ``run_id`` if known, else of ``thread_id``, else None."""
        if run_id is not None and run_id in self._runs:
            return self._runs[run_id]
        if thread_id is not None:
            return self._threads.get(thread_id)
        return None

    def clear(self) -> None:
        """Forget every owner (a new run of the target)."""
        self._threads.clear()
        self._runs.clear()


class ConnectionRegistry:
    """The backend's connection manager for in-process runs; records, by delivering to sessions.

    Example:
        >>> registry = ConnectionRegistry()
        >>> registry.connected("usr_nobody")
        0
    """

    def __init__(self) -> None:
        #: Who owns each thread and run (claimed by the sessions as turns are sent).
        self.owners = Owners()
        self._tabs: dict[str, list[Receiver]] = {}
        #: How many messages reached no tab (no owner known, or the owner has no tab open).
        self.undelivered = 0

    def register(self, session: Receiver) -> None:
        """Connect a session: from now on it receives what is sent to its user."""
        self._tabs.setdefault(session.user.user_id, []).append(session)

    def unregister(self, session: Receiver) -> None:
        """Disconnect a session; a user with no tab left leaves no entry behind."""
        user_id = session.user.user_id
        tabs = self._tabs.get(user_id, [])
        if session in tabs:
            tabs.remove(session)
        if not tabs:
            self._tabs.pop(user_id, None)

    def connected(self, user_id: str) -> int:
        """How many tabs ``user_id`` has open."""
        return len(self._tabs.get(user_id, ()))

    def send_to_user(self, user_id: str, message: Mapping[str, Any]) -> int:
        """Deliver ``message`` to every tab of ``user_id``; return how many received it."""
        tabs = list(self._tabs.get(user_id, ()))
        if not tabs:
            self.undelivered += 1
        for tab in tabs:
            tab.receive(message)
        return len(tabs)

    def send_to_thread(self, thread_id: str, message: Mapping[str, Any]) -> int:
        """Deliver ``message`` to every tab of the owner of ``thread_id``."""
        return self._send_to_owner(self.owners.owner(thread_id=thread_id), message)

    def send_to_run(self, run_id: str, message: Mapping[str, Any]) -> int:
        """Deliver ``message`` to every tab of the owner of ``run_id``."""
        return self._send_to_owner(self.owners.owner(run_id=run_id), message)

    def deliver(self, message: Mapping[str, Any]) -> int:
        """Deliver by the ids the message carries: its run's owner, its thread's, its user."""
        owner = self.owners.owner(thread_id=message.get("thread_id"), run_id=message.get("run_id"))
        if owner is None and isinstance(message.get("user_id"), str):
            owner = message["user_id"]
        return self._send_to_owner(owner, message)

    def clear(self) -> None:
        """Forget every connection and owner (a new run of the target)."""
        self._tabs.clear()
        self.owners.clear()
        self.undelivered = 0

    def _send_to_owner(self, owner: str | None, message: Mapping[str, Any]) -> int:
        if owner is None:
            self.undelivered += 1
            return 0
        return self.send_to_user(owner, message)
