"""The Target contract (pinned): the protocols a system under test satisfies structurally.

A Target is the system under test as the harness sees it: something that opens sessions (one
connection, one browser tab) for simulated users, runs chat turns in them and, when it lives in
the same process, exposes the live objects each user owns (``roots``) and the infrastructure that
is meant to be shared (``shared_roots``). Implementations satisfy these protocols without
inheriting; loading one from ``--target`` is :mod:`harness.targets`' job.

Optional attributes a Target may have, with the default the harness assumes:

``capabilities``      ``{"scripted_plan", "tools", "live_roots"}``
``limits()``          ``{}`` (unknown); e.g. ``{"engines_per_user": 2}``
``deterministic``     ``True``; ``False`` for backends keyed on wall time or uuid4
``requires_fresh_process``  ``False``; ``True`` when state outlives a Target
``event_rules``       ``{}``; e.g. ``{"allow_duplicates": ["agent_thinking"]}``
``adapter_objects()`` ``()``; adapter scaffolding that walks treat as opaque

A Session may offer ``burst(turns)`` (start every turn's engine before any runs) and an
``on_event`` attribute: when the runner sets it to a callable, the session calls it with each
:class:`~harness.model.Event` as it arrives.

``Clock`` is where core code (the harness's and a well-behaved target's) reads time: the running
loop's ``time()``, virtual on the seeded loop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

from harness.model import Event, SimUser, Turn, TurnOutcome

__all__ = ["DEFAULT_CAPABILITIES", "Clock", "Session", "Target"]

DEFAULT_CAPABILITIES: frozenset[str] = frozenset({"scripted_plan", "tools", "live_roots"})


@runtime_checkable
class Session(Protocol):
    """One connection of one user."""

    user: SimUser

    async def run_turn(self, turn: Turn) -> TurnOutcome: ...

    def events(self) -> Sequence[Event]: ...

    def roots(self) -> Mapping[str, object]: ...

    async def close(self) -> None: ...


@runtime_checkable
class Target(Protocol):
    """The system under test."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def open_session(self, user: SimUser) -> Session: ...

    def shared_roots(self) -> Mapping[str, object]: ...


@runtime_checkable
class Clock(Protocol):
    """Where time comes from: the running loop's ``time()`` (virtual on the seeded loop)."""

    def time(self) -> float: ...
