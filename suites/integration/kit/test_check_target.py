"""check-target passes a conforming adapter and names the broken rule, with its fix, otherwise."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import pytest

from harness.cli import main
from harness.kit import completed
from harness.kit._conformance import RULES, check_target
from harness.model import SimUser, Turn, TurnOutcome
from suites.integration.kit.kit_targets import FreshRootsSession, FreshRootsTarget
from suites.integration.kit.tiny_factory import Engine

MODULE = "suites.integration.kit.test_check_target"


class FillsInSession(FreshRootsSession):
    """Builds events with the session's own user and thread: hides misrouting."""

    def receive(self, message: Mapping[str, Any]) -> None:
        filled = {**message, "user_id": self.user.user_id}
        filled.setdefault("thread_id", self.user.thread_ids[0])
        if filled["thread_id"] is None:
            filled["thread_id"] = self.user.thread_ids[0]
        super().receive(filled)


class NoToolResultsSession(FreshRootsSession):
    async def drive(self, run: Engine, turn: Turn) -> TurnOutcome:
        outcome = await super().drive(run, turn)
        return TurnOutcome(run_id=turn.run_id, status=outcome.status, result={"response": "ok"})


class LiarEchoSession(FreshRootsSession):
    """Answers echo from the caller's arguments, not from the context the tool ran under."""

    async def drive(self, run: Engine, turn: Turn) -> TurnOutcome:
        await super().drive(run, turn)
        fake = {"user_id": "usr_someone", "run_id": turn.run_id, "thread_id": turn.thread_id}
        entry = {"name": "echo", "params": {}, "result": {**fake, "params": {}}, "error": None}
        tools: list[dict[str, Any]] = [entry, {"name": "search", "params": {}, "result": {}}]
        tools[1]["error"] = None
        return completed(turn, tools)


class RaisesRefusalSession(FreshRootsSession):
    refusals: ClassVar[tuple[type[BaseException], ...]] = ()


class HoardingTarget(FreshRootsTarget):
    """Keeps every engine it ever made: they never become garbage."""

    def __init__(self) -> None:
        super().__init__()
        self.kept: list[object] = []

    def scaffolding(self) -> tuple[object, ...]:
        return ()

    async def open_session(self, user: SimUser) -> FreshRootsSession:
        session = await super().open_session(user)
        original = session.open_run

        async def keep(turn: Turn) -> Any:
            engine = await original(turn)
            self.kept.append(engine)
            return engine

        session.open_run = keep  # type: ignore[method-assign]
        return session


def _with(session_class: type[FreshRootsSession]) -> type[FreshRootsTarget]:
    class Target(FreshRootsTarget):
        async def open_session(self, user: SimUser) -> FreshRootsSession:
            return session_class(self, user, self.next_connection_id())

    return Target


FillsIn = _with(FillsInSession)
NoToolResults = _with(NoToolResultsSession)
LiarEcho = _with(LiarEchoSession)
RaisesRefusal = _with(RaisesRefusalSession)


def _failed(spec: str) -> dict[str, str]:
    return {r.rule: r.detail for r in check_target(spec) if not r.passed}


def test_a_conforming_adapter_passes_every_rule() -> None:
    results = check_target("suites.integration.kit.kit_targets:FreshRootsTarget")
    assert [r.rule for r in results] == list(RULES)
    assert [r.rule for r in results if not r.passed] == []


@pytest.mark.parametrize(
    ("attr", "rule", "detail"),
    [
        ("FillsIn", "events-as-sent", "the session filled them in"),
        ("NoToolResults", "tool-results", "has no tool_results list"),
        ("LiarEcho", "echo", "usr_someone"),
        ("RaisesRefusal", "refusals", "raised ThreadRefused"),
        ("HoardingTarget", "roots", "still alive after close(): Context, Engine"),
    ],
)
def test_each_broken_rule_is_named_with_what_was_seen(attr: str, rule: str, detail: str) -> None:
    failed = _failed(f"{MODULE}:{attr}")
    assert rule in failed, failed
    assert detail in failed[rule]


def test_the_command_prints_each_rule_and_the_fix(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-target", f"{MODULE}:NoToolResults"]) == 1
    out = capsys.readouterr().out
    assert "tool-results" in out and "FAIL" in out
    assert "fix: result['tool_results'] lists" in out
    assert main(["check-target", "suites.integration.kit.kit_targets:FreshRootsTarget"]) == 0
    assert "every rule passes" in capsys.readouterr().out


def test_the_command_rejects_a_single_user(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-target", f"{MODULE}:FillsIn", "--users", "1"]) == 2
    assert "--users=1" in capsys.readouterr().err
