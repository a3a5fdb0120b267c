"""Errors raised by the reference backend.

Every error the backend raises on purpose derives from :class:`BackendError`::

    BackendError
    +-- InvalidContextError     an id or field of a UserExecutionContext breaks a rule
    +-- InvalidRequestError     an AgentRequest (or its plan) is malformed
    +-- EngineLimitExceeded     a user already holds the maximum number of engines
    +-- EngineClosedError       a released engine was asked to run a turn
    +-- FactoryClosedError      the factory was shut down
    +-- UserMismatchError       a request for one user reached another user's engine
    +-- UnknownAgentError       no agent class is registered under that name
    +-- DuplicateRunError       a run id is already active in an execution registry
    +-- MissingNotifierError    a tool dispatcher built without a notifier (also a ValueError)
    +-- ToolError               a tool failed; becomes an ``error`` in ``tool_completed``
    +-- AgentFailedError        a scripted agent executed a ``fail`` step
    +-- DeliveryError           an event could not be delivered to a connection
    |   +-- ConnectionDropped   the WebSocket is closed or was dropped (websocket_connection)
    +-- UnknownFaultError       a fault name that ``harness_backend.faults.FAULTS`` does not know
    +-- AuthError               a connection presented no usable token (auth)
    +-- ProtocolError           a client frame was refused; the connection stays open (protocol)

The backend never imports ``harness``: it is the system under test.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "BackendError",
    "InvalidContextError",
    "InvalidRequestError",
    "EngineLimitExceeded",
    "EngineClosedError",
    "FactoryClosedError",
    "UserMismatchError",
    "UnknownAgentError",
    "DuplicateRunError",
    "MissingNotifierError",
    "ToolError",
    "AgentFailedError",
    "DeliveryError",
    "UnknownFaultError",
    "did_you_mean",
    "ProtocolError",
]


def did_you_mean(value: str, candidates: Iterable[str]) -> str:
    """Return ``" Did you mean 'x'?"`` for the closest candidate, or ``""`` if none is close."""
    matches = difflib.get_close_matches(value, list(candidates), n=1, cutoff=0.6)
    return f" Did you mean {matches[0]!r}?" if matches else ""


class BackendError(Exception):
    """Root of every error the backend raises on purpose."""


class InvalidContextError(BackendError):
    """A context field is empty, too long, has forbidden characters or is a placeholder.

    Causes: ids such as ``"test"`` or ``"default"`` left over from fixtures, ``None`` ids.
    Fix: pass real, unique ids (``usr_<12 hex>``, ``thread_<12 hex>``, ``run_<12 hex>``).
    """


class InvalidRequestError(BackendError):
    """An agent request or one of its plan steps is malformed.

    Fix: the message names the step index, the value and the accepted shapes.
    """


class EngineLimitExceeded(BackendError):
    """The user already holds ``max_engines_per_user`` engines.

    Fix: release an engine (leave its ``user_execution_scope``) before creating another.
    """


class EngineClosedError(BackendError):
    """A turn was started on an engine that was already released.

    Fix: create a fresh engine with ``create_for_user`` for each scope.
    """


class FactoryClosedError(BackendError):
    """The factory was shut down and creates no more engines.

    Fix: build a new ``ExecutionEngineFactory``.
    """


class UserMismatchError(BackendError):
    """A request's ``user_id`` differs from the engine's context ``user_id``.

    Fix: create an engine for the request's own user; engines are never shared.
    """


class UnknownAgentError(BackendError):
    """No agent class is registered under the requested name.

    Fix: use one of the names listed in the message.
    """


class DuplicateRunError(BackendError):
    """A run id is already active in this execution registry.

    Fix: give every turn a fresh ``run_id``.
    """


class MissingNotifierError(BackendError, ValueError):
    """A tool dispatcher was built with ``notifier=None``.

    Tool events would vanish silently; a dispatcher always reports through the user's emitter.
    Fix: pass the user's ``UserEventEmitter``.
    """


class ToolError(BackendError):
    """A tool failed. The dispatcher turns it into ``tool_completed`` with an ``error``."""


class AgentFailedError(BackendError):
    """An agent gave up on its turn (a ``fail`` step). The engine emits ``agent_error``.

    ``tool_results`` holds the tool results gathered before the failure, in plan order.
    """

    def __init__(self, reason: str, tool_results: Iterable[Mapping[str, Any]] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.tool_results: list[dict[str, Any]] = [dict(result) for result in tool_results]


class DeliveryError(BackendError):
    """An event could not be delivered to a connection (its ``send`` raised or it is closed)."""


class UnknownFaultError(BackendError):
    """A fault name that ``harness_backend.faults.FAULTS`` does not know.

    Fix: use one of the names listed in the message.
    """


class ProtocolError(BackendError):
    """A client frame was refused; the connection stays open.

    ``code`` is the ``error`` frame's code and ``run_id`` the frame's run id when it had a valid
    one. Fix: send frames shaped as described in :mod:`harness_backend.protocol`.
    """

    def __init__(self, code: str, message: str, *, run_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.run_id = run_id
