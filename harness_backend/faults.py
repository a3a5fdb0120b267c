"""Switchable reproductions of known isolation bugs, all off by default.

``FaultSet.from_names(["shared-engine"])`` switches faults on for one factory; the factory builds
one :class:`FaultState` that holds everything a fault shares, so two factories in one process (one
faulty, one correct) never interfere. :data:`FAULTS` documents each fault in one line.

The correct backend never holds a :class:`FaultState`: engines built without faults get ``None``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from .connections import DeliveryReport
from .context import UserExecutionContext
from .emitter import UserEventEmitter
from .errors import UnknownFaultError, did_you_mean
from .execution_registry import AgentExecutionRegistry
from .tools import Notifier, ToolDispatcher

__all__ = [
    "FAULTS",
    "EngineFaults",
    "FaultSet",
    "FaultState",
    "NullNotifier",
    "RoutedEmitter",
]

#: Every known fault, with one line on what it breaks.
FAULTS: Mapping[str, str] = MappingProxyType(
    {
        "shared-engine": "create_for_user returns one engine for everyone; later callers rebind "
        "its context and emitter (a singleton engine with set_context).",
        "shared-agent": "one agent instance serves every user; each run overwrites its context, "
        "so a tool called after a pause runs under the last writer's context.",
        "shared-registry": "one AgentExecutionRegistry for all engines: a user's registry holds "
        "other users' runs and messages.",
        "null-notifier": "the tool dispatcher gets a null notifier: tool_executing and "
        "tool_completed vanish silently.",
        "last-writer-routing": "events are routed by agent name to the user who registered last, "
        "so concurrent users receive each other's events.",
        "key-collision": "engine keys are user id plus the clock's millisecond: a same-instant "
        "burst overwrites entries, bypasses the limit and leaks the overwritten engines.",
        "no-cleanup": "release does nothing: engines and their runs stay reachable from the "
        "factory after scope exit.",
        "mutable-context": "make_context builds every context on one template whose metadata "
        "dict is shared and overwritten by each call.",
        "register-race": "create_for_user checks the per-user count, awaits, then registers: "
        "concurrent creations both pass the check.",
        "run-keyed-engines": "engines are keyed by user and run id, with no check that the "
        "run is already in flight: a retry or a second tab resuming a running run overwrites "
        "its engine, bypasses the per-user limit, and the first release frees the other's slot.",
    }
)


@dataclass(frozen=True, slots=True)
class FaultSet:
    """The faults switched on for one factory (names in :data:`FAULTS` order)."""

    names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in self.names:
            if name not in FAULTS:
                raise UnknownFaultError(
                    f"fault={name!r} is not a known fault; known faults: "
                    f"{', '.join(FAULTS)}." + did_you_mean(name, FAULTS)
                )
        ordered = tuple(name for name in FAULTS if name in self.names)
        object.__setattr__(self, "names", ordered)

    @classmethod
    def from_names(cls, names: Iterable[str]) -> FaultSet:
        """Switch on the named faults.

        Raises:
            UnknownFaultError: for a name not in :data:`FAULTS`, with the known names and a
                did-you-mean.
        """
        if isinstance(names, str):
            names = [names]
        return cls(names=tuple(dict.fromkeys(names)))

    @classmethod
    def none(cls) -> FaultSet:
        """No faults: the correct backend."""
        return cls()

    def enabled(self, name: str) -> bool:
        """True if fault ``name`` is on.

        Raises:
            UnknownFaultError: for a name not in :data:`FAULTS` (catches typos in callers).
        """
        if name not in FAULTS:
            raise UnknownFaultError(
                f"fault={name!r} is not a known fault; known faults: {', '.join(FAULTS)}."
                + did_you_mean(name, FAULTS)
            )
        return name in self.names

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def __bool__(self) -> bool:
        return bool(self.names)


class NullNotifier:
    """A notifier that drops every event and claims success (the ``null-notifier`` fault)."""

    async def emit(
        self, event_type: str, *, run_id: str, thread_id: str, payload: Mapping[str, Any]
    ) -> DeliveryReport:
        return DeliveryReport(user_id="", delivered=1)


class RoutedEmitter:
    """Delivers a user's events to whoever last registered the agent name (``last-writer-routing``).

    The event still names its real user; only the destination is wrong.
    """

    def __init__(self, emitter: UserEventEmitter, routes: dict[str, str], agent_name: str) -> None:
        self.emitter = emitter
        self.routes = routes
        self.agent_name = agent_name
        self.user_id = emitter.user_id

    async def emit(
        self, event_type: str, *, run_id: str, thread_id: str, payload: Mapping[str, Any]
    ) -> DeliveryReport:
        event = self.emitter.build(event_type, run_id=run_id, thread_id=thread_id, payload=payload)
        destination = self.routes.get(self.agent_name, self.emitter.user_id)
        return await self.emitter.connections.deliver(destination, event)


class EngineFaults:
    """The fault hooks of one engine: only what its switched-on faults share, nothing more.

    One per engine (so the hooks object itself is never shared); the dicts it points at are the
    factory's shared ones, which is exactly the bug each fault reproduces.
    """

    def __init__(
        self,
        *,
        null_notifier: bool = False,
        routes: dict[str, str] | None = None,
        shared_agents: dict[str, Any] | None = None,
        shared_registry: AgentExecutionRegistry | None = None,
    ) -> None:
        self.null_notifier = null_notifier
        self.routes = routes
        self.shared_agents = shared_agents
        self.shared_registry = shared_registry

    def tool_notifier(self, emitter: Notifier) -> Notifier:
        """What a tool dispatcher reports through: a :class:`NullNotifier` under the fault."""
        return NullNotifier() if self.null_notifier else emitter

    def turn_emitter(self, emitter: UserEventEmitter, agent_name: str) -> Notifier:
        """The emitter a turn uses: routed by agent name under ``last-writer-routing``."""
        if self.routes is None:
            return emitter
        self.routes[agent_name] = emitter.user_id  # "register": the last writer wins
        return RoutedEmitter(emitter, self.routes, agent_name)

    def agent_for(
        self,
        agent_name: str,
        agent_class: Any,
        context: UserExecutionContext,
        dispatcher: ToolDispatcher,
        emitter: Notifier,
    ) -> Any:
        """A per-turn agent, or under ``shared-agent`` the one instance, rebound to this turn."""
        if self.shared_agents is None:
            return agent_class(context, dispatcher, emitter)
        agent = self.shared_agents.get(agent_name)
        if agent is None:
            agent = agent_class(context, dispatcher, emitter)
            self.shared_agents[agent_name] = agent
        else:
            agent.bind(context, dispatcher, emitter)
        return agent


class FaultState:
    """Everything the switched-on faults share, held by one factory.

    Args:
        faults: the faults switched on.
        history_limit: history size of the shared execution registry (``shared-registry``).
    """

    def __init__(self, faults: FaultSet, history_limit: int = 100) -> None:
        self.faults = faults
        self.shared_engine: Any = None
        self.shared_agents: dict[str, Any] = {}
        self.shared_registry = (
            AgentExecutionRegistry(history_limit) if "shared-registry" in faults else None
        )
        self.routes: dict[str, str] = {}
        self.template_metadata: dict[str, Any] = {}

    def execution_registry(self, history_limit: int) -> AgentExecutionRegistry:
        """The registry for a new engine: the shared one under ``shared-registry``."""
        if self.shared_registry is not None:
            return self.shared_registry
        return AgentExecutionRegistry(history_limit)

    def engine_faults(self) -> EngineFaults | None:
        """Hooks for a new engine, or None when no switched-on fault acts inside engines."""
        faults = self.faults
        if not any(
            name in faults
            for name in ("null-notifier", "last-writer-routing", "shared-agent", "shared-registry")
        ):
            return None
        return EngineFaults(
            null_notifier="null-notifier" in faults,
            routes=self.routes if "last-writer-routing" in faults else None,
            shared_agents=self.shared_agents if "shared-agent" in faults else None,
            shared_registry=self.shared_registry,
        )

    def template_context(
        self,
        user_id: str,
        thread_id: str,
        run_id: str,
        metadata: Mapping[str, Any] | None,
    ) -> UserExecutionContext:
        """A context whose metadata is the one shared template dict (``mutable-context``)."""
        self.template_metadata.update(metadata or {})
        context = UserExecutionContext.create(user_id, thread_id, run_id)
        object.__setattr__(context, "metadata", self.template_metadata)
        return context
