"""Outcomes are built by keyword, refusals become ``rejected``, tool evidence is kept."""

from __future__ import annotations

from harness.kit import completed, errored, finished, is_refusal, rejected
from harness.model import Turn

TURN = Turn(run_id="run_0000000000a1", thread_id="thread_0000000000b2", message="hello")
TOOLS = [{"name": "echo", "params": {}, "result": {"user_id": "usr_1"}, "error": None}]


def test_rejected_carries_the_backends_message() -> None:
    outcome = rejected(TURN, PermissionError("at most 2 engines per user"))
    assert (outcome.run_id, outcome.status, outcome.result) == (TURN.run_id, "rejected", None)
    assert outcome.error == "at most 2 engines per user"


def test_completed_and_errored_keep_tool_results() -> None:
    done = completed(TURN, TOOLS, response="ok")
    assert done.status == "completed" and done.error is None
    assert done.result == {"response": "ok", "tool_results": TOOLS}
    failed = errored(TURN, "upstream down", TOOLS)
    assert failed.status == "error" and failed.error == "upstream down"
    assert failed.result == {"tool_results": TOOLS}


def test_finished_maps_the_backends_verdict() -> None:
    assert finished(TURN, ok=True, result={"tool_results": []}, error=None).status == "completed"
    outcome = finished(TURN, ok=False, result=None, error="boom")
    assert (outcome.status, outcome.result, outcome.error) == ("error", None, "boom")


def test_is_refusal_only_for_the_listed_classes() -> None:
    class LimitReached(Exception):
        pass

    assert is_refusal(LimitReached("x"), (LimitReached,))
    assert not is_refusal(ValueError("x"), (LimitReached,))
    assert not is_refusal(LimitReached("x"), ())
