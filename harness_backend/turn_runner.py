"""One turn of the WebSocket server: its budget check, and its run as a task.

:func:`check_turn_budget` refuses a turn past the connection's or the user's bound of turns in
flight (``rejected``); :func:`run_turn` runs an admitted turn through the factory's
``user_execution_scope`` and reports a refusal as an error frame on the turn's connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from typing import Protocol

from harness_backend.agents import AgentRequest
from harness_backend.budgets import ConnectionBudget
from harness_backend.errors import BackendError, EngineLimitExceeded
from harness_backend.factory import ExecutionEngineFactory
from harness_backend.protocol import ChatMessage, ProtocolError, excerpt
from harness_backend.server_limits import ServerLimits
from harness_backend.websocket_connection import WebSocketConnection

__all__ = ["SendError", "check_turn_budget", "run_turn"]

logger = logging.getLogger("harness_backend.server")

#: Longest text a log line quotes from anything a client sent.
_LOG_CHARS = 200


class SendError(Protocol):
    """Sends an ``error`` frame on a connection (never raises for a closed one)."""

    def __call__(
        self, connection: WebSocketConnection, code: str, message: str, *, run_id: str | None
    ) -> Awaitable[None]: ...


def check_turn_budget(limits: ServerLimits, budget: ConnectionBudget, message: ChatMessage) -> None:
    """Raise ``ProtocolError(rejected)`` if the connection or its user has too many turns."""
    if budget.turns >= limits.turns_per_connection:
        raise ProtocolError(
            "rejected",
            f"{budget.turns} turns are in flight on this connection, the most is "
            f"turns_per_connection={limits.turns_per_connection}; wait for one to end",
            run_id=message.run_id,
        )
    if budget.user.turns >= limits.turns_per_user:
        raise ProtocolError(
            "rejected",
            f"{budget.user.turns} turns of this user are in flight, the most is "
            f"turns_per_user={limits.turns_per_user}; wait for one to end",
            run_id=message.run_id,
        )


async def run_turn(
    factory: ExecutionEngineFactory,
    agent: str,
    connection: WebSocketConnection,
    message: ChatMessage,
    send_error: SendError,
) -> None:
    """Run ``message`` as one turn of ``agent`` for the connection's user.

    A user over its engine limit gets ``rejected``; a request the backend refuses gets
    ``invalid_message`` (logged as a short warning, no traceback); only an unexpected error is
    logged with its traceback and answered with ``internal_error``.
    """
    user_id, run_id = connection.user_id, message.run_id
    try:
        context = factory.make_context(
            user_id,
            message.thread_id,
            run_id,
            metadata={"connection_id": connection.connection_id, "transport": "websocket"},
        )
        async with contextlib.AsyncExitStack() as stack:
            try:
                engine = await stack.enter_async_context(factory.user_execution_scope(context))
            except EngineLimitExceeded as error:
                await send_error(connection, "rejected", str(error), run_id=run_id)
                return
            request = AgentRequest(
                user_id=user_id,
                thread_id=message.thread_id,
                run_id=run_id,
                message=message.content,
                plan=message.plan,
            )
            await engine.execute_agent(agent, request)
    except asyncio.CancelledError:
        raise
    except BackendError as error:
        logger.warning("turn %s refused: %s", run_id, excerpt(str(error), _LOG_CHARS))
        await send_error(connection, "invalid_message", str(error), run_id=run_id)
    except Exception:
        logger.exception("turn %s of %s failed", run_id, connection.connection_id)
        await send_error(connection, "internal_error", "internal error", run_id=run_id)
