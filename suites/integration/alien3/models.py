"""Wire and storage models of the Switchyard platform (pydantic v2).

Requests are validated on the way in (a :class:`ChatRequest` with its :class:`PlanStep` list),
results on the way out (:class:`ToolReceipt`, :class:`JobResult`); :class:`Completion` is what
the upstream model service answers. Every model is frozen: once validated, nobody edits it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "ChatRequest",
    "Completion",
    "JobResult",
    "PlanStep",
    "SearchHits",
    "ToolReceipt",
    "UserCard",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class PlanStep(BaseModel):
    """One scripted step: think, tool, pause or fail."""

    model_config = _FROZEN

    step: Literal["think", "tool", "pause", "fail"]
    text: str = ""
    name: str = ""
    params: dict[str, Any] = Field(default_factory=dict)
    seconds: float = 0.0
    reason: str = ""

    @field_validator("seconds")
    @classmethod
    def _not_negative(cls, value: float) -> float:
        if value < 0:
            raise ValueError(f"seconds={value!r} must not be negative")
        return value


class UserCard(BaseModel):
    """Who a request comes from, as the gateway authenticated them."""

    model_config = _FROZEN

    user_id: str = Field(min_length=1)
    email: str
    display_name: str


class ChatRequest(BaseModel):
    """One chat turn as the gateway hands it to the orchestrator."""

    model_config = _FROZEN

    run_id: str = Field(min_length=1)
    thread_id: str = Field(min_length=1)
    content: str
    plan: tuple[PlanStep, ...] = ()
    agent_kind: str = "scripted"

    @field_validator("plan")
    @classmethod
    def _fail_is_last(cls, plan: tuple[PlanStep, ...]) -> tuple[PlanStep, ...]:
        for index, step in enumerate(plan[:-1]):
            if step.step == "fail":
                raise ValueError(f"a fail step must be last, found at {index} of {len(plan)}")
        return plan


class ToolReceipt(BaseModel):
    """What one tool call gave: the contract's ``{name, params, result, error}``."""

    model_config = _FROZEN

    name: str
    params: dict[str, Any]
    result: dict[str, Any] | None = None
    error: str | None = None


class JobResult(BaseModel):
    """The end of a job: its status and, when it completed, the answer and receipts."""

    model_config = _FROZEN

    status: Literal["completed", "error"]
    response: str = ""
    receipts: tuple[ToolReceipt, ...] = ()
    error: str | None = None

    def as_result(self) -> dict[str, Any] | None:
        """The contract's ``TurnOutcome.result`` mapping, or None for an error."""
        if self.status != "completed":
            return None
        return {
            "response": self.response,
            "tool_results": [receipt.model_dump() for receipt in self.receipts],
        }


class Completion(BaseModel):
    """The upstream model service's answer to a prompt."""

    model_config = _FROZEN

    model: str
    tokens: tuple[str, ...]
    finish: Literal["stop", "length"] = "stop"


class SearchHits(BaseModel):
    """The upstream search service's answer to a query."""

    model_config = _FROZEN

    query: str
    hits: tuple[str, ...]
