"""Turn outcomes built the way the contract asks: by keyword, refusals as ``rejected``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from harness.model import Turn, TurnOutcome

__all__ = ["completed", "errored", "finished", "is_refusal", "rejected"]


def rejected(turn: Turn, error: BaseException | str) -> TurnOutcome:
    """The outcome of a turn the backend refused (a limit, validation, another user's thread).

    Args:
        turn: the refused turn.
        error: the backend's refusal exception, or its message.

    Example:
        >>> from harness.model import Turn
        >>> rejected(Turn(run_id="run_1", thread_id="thread_1", message="hi"), "busy").status
        'rejected'
    """
    return TurnOutcome(run_id=turn.run_id, status="rejected", result=None, error=str(error))


def completed(turn: Turn, tool_results: Sequence[Mapping[str, Any]], **result: Any) -> TurnOutcome:
    """The outcome of a turn that reached ``agent_completed``, with its tool evidence.

    Args:
        turn: the turn.
        tool_results: ``{name, params, result, error}`` per tool call, in plan order.
        **result: more keys of ``TurnOutcome.result`` (e.g. ``response="..."``).

    Example:
        >>> from harness.model import Turn
        >>> turn = Turn(run_id="run_1", thread_id="thread_1", message="hi")
        >>> completed(turn, [], response="ok").result["tool_results"]
        []
    """
    body = {**result, "tool_results": [dict(entry) for entry in tool_results]}
    return TurnOutcome(run_id=turn.run_id, status="completed", result=body, error=None)


def errored(turn: Turn, error: str, tool_results: Sequence[Mapping[str, Any]]) -> TurnOutcome:
    """The outcome of a turn that ended in ``agent_error``; it keeps the tool evidence too.

    Args:
        turn: the turn.
        error: what went wrong, as the backend said it.
        tool_results: the tool calls made before the error, in plan order.

    Example:
        >>> from harness.model import Turn
        >>> turn = Turn(run_id="run_1", thread_id="thread_1", message="hi")
        >>> errored(turn, "boom", []).status
        'error'
    """
    body = {"tool_results": [dict(entry) for entry in tool_results]}
    return TurnOutcome(run_id=turn.run_id, status="error", result=body, error=error)


def finished(
    turn: Turn, *, ok: bool, result: Mapping[str, Any] | None, error: str | None
) -> TurnOutcome:
    """The outcome of a turn the backend ran to its end: ``completed`` if ``ok``, else ``error``.

    Args:
        turn: the turn.
        ok: whether the backend reports success.
        result: the backend's result mapping (with ``tool_results``), kept as given.
        error: the backend's error text, if any.

    Example:
        >>> from harness.model import Turn
        >>> turn = Turn(run_id="run_1", thread_id="thread_1", message="hi")
        >>> finished(turn, ok=False, result=None, error="boom").status
        'error'
    """
    return TurnOutcome(
        run_id=turn.run_id,
        status="completed" if ok else "error",
        result=dict(result) if result is not None else None,
        error=error,
    )


def is_refusal(error: BaseException, refusals: tuple[type[BaseException], ...]) -> bool:
    """Whether ``error`` is one of the backend's refusal exceptions.

    Args:
        error: what the backend raised.
        refusals: the exception classes the backend raises to refuse a turn.

    Example:
        >>> is_refusal(PermissionError("no"), (PermissionError,))
        True
    """
    return bool(refusals) and isinstance(error, refusals)
