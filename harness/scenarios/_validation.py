"""Checking a scenario definition before a run: :func:`validate`.

Every rule is checked in one linear pass. The first broken rule raises
:class:`~harness.errors.ScenarioError` whose message puts the context first, one line each::

    scenario 'golden_path' (seed 7)
    session 's0003' (user 'usr_0123456789ab')
    turn 'run_0123456789ab' (turns[1]), step 2
    rule: Fail(...) must be the last step of a plan, but step 2 of 4 is followed by Pause(...).
    Fix: ...
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from harness.errors import ScenarioError
from harness.model import CallTool, Fail, Pause, Scenario, SessionPlan, SimUser, Think, Turn

__all__ = ["validate"]

_STEP_TYPES = (Think, CallTool, Pause, Fail)


def _is_time(value: object) -> bool:
    return (
        not isinstance(value, bool)
        and isinstance(value, int | float)
        and math.isfinite(value)
        and value >= 0
    )


class _Checker:
    """Holds the context lines of the thing being checked, to prefix every error."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.context: list[str] = [f"scenario {scenario.name!r} (seed {scenario.seed!r})"]

    def fail(self, *lines: str) -> ScenarioError:
        return ScenarioError("\n".join([*self.context, *lines]))

    def check_time(self, name: str, value: object, fix: str) -> None:
        if not _is_time(value):
            raise self.fail(
                f"rule: {name}={value!r} must be a finite number of seconds >= 0. Fix: {fix}"
            )

    def run(self) -> None:
        scenario = self.scenario
        users = self.check_users(scenario.users)
        for name in ("turn_timeout", "checkpoint_interval", "starvation_factor"):
            value = getattr(scenario, name)
            if not _is_time(value) or value == 0:
                raise self.fail(
                    f"rule: {name}={value!r} must be a finite number > 0. "
                    f"Fix: leave the default or pass a positive number."
                )
        for heavy in scenario.heavy_users:
            if heavy not in users:
                raise self.fail(
                    f"rule: heavy_users names user_id={heavy!r}, which is not one of the "
                    f"scenario's {len(users)} users. Fix: list only ids from Scenario.users."
                )
        session_ids: set[str] = set()
        run_ids: dict[str, tuple[str, str]] = {}
        for index, session in enumerate(scenario.sessions):
            self.check_session(index, session, users, session_ids, run_ids)

    def check_users(self, users: tuple[SimUser, ...]) -> Mapping[str, SimUser]:
        known: dict[str, SimUser] = {}
        for index, user in enumerate(users):
            if not isinstance(user, SimUser):
                raise self.fail(
                    f"rule: users[{index}]={user!r} (type {type(user).__name__}) is not a "
                    "SimUser. Fix: make users with harness.users.UserFactory."
                )
            if user.user_id in known:
                raise self.fail(
                    f"rule: users[{index}] repeats user_id={user.user_id!r}. "
                    "Fix: every user needs its own id; draw users from one UserFactory."
                )
            known[user.user_id] = user
        return known

    def check_session(
        self,
        index: int,
        session: SessionPlan,
        users: Mapping[str, SimUser],
        session_ids: set[str],
        run_ids: dict[str, tuple[str, str]],
    ) -> None:
        self.context.append(f"session {session.session_id!r} (sessions[{index}])")
        if not isinstance(session.session_id, str) or not session.session_id:
            raise self.fail(
                f"rule: session_id={session.session_id!r} must be a non-empty string. "
                "Fix: number sessions s0000, s0001..."
            )
        if session.session_id in session_ids:
            raise self.fail(
                f"rule: duplicate session id session_id={session.session_id!r}. "
                "Fix: give every session its own id."
            )
        session_ids.add(session.session_id)
        user = users.get(session.user_id)
        if user is None:
            raise self.fail(
                f"rule: user_id={session.user_id!r} is an unknown user: not one of the "
                f"scenario's {len(users)} users. Fix: open sessions only for Scenario.users."
            )
        self.context[-1] += f" (user {session.user_id!r})"
        self.check_time("opens_at", session.opens_at, "open sessions at loop time 0 or later.")
        self.check_time("gap", session.gap, "use 0 for turns back to back.")
        self.check_time("keep_open", session.keep_open, "use 0 to close after the last turn.")
        for name in ("close_after", "cancel_after"):
            value = getattr(session, name)
            if value is not None:
                self.check_time(name, value, f"use None for no {name}.")
        if session.reopen_turns and session.close_after is None:
            raise self.fail(
                f"rule: reopen_turns has {len(session.reopen_turns)} turns but "
                "close_after=None, so the tab never closes and they never run. "
                "Fix: set close_after, or move the turns into turns."
            )
        for field, turns in (("turns", session.turns), ("reopen_turns", session.reopen_turns)):
            for position, turn in enumerate(turns):
                self.check_turn(f"{field}[{position}]", turn, user, run_ids, users)
        self.context.pop()

    def check_turn(
        self,
        where: str,
        turn: Turn,
        user: SimUser,
        run_ids: dict[str, tuple[str, str]],
        users: Mapping[str, SimUser],
    ) -> None:
        self.context.append(f"turn {turn.run_id!r} ({where})")
        if not isinstance(turn.run_id, str) or not turn.run_id:
            raise self.fail(
                f"rule: run_id={turn.run_id!r} must be a non-empty string. "
                "Fix: draw run ids from ScenarioBuilder.run_id() or UserFactory.run_id()."
            )
        if not isinstance(turn.retry, bool):
            raise self.fail(
                f"rule: retry={turn.retry!r} (type {type(turn.retry).__name__}) must be a "
                "bool. Fix: pass retry=True only on a turn that repeats an earlier run id."
            )
        if turn.retry:
            self.check_retry(turn, user, run_ids)
        elif turn.run_id in run_ids:
            raise self.fail(
                f"rule: duplicate run id run_id={turn.run_id!r}: run ids are unique within a "
                "scenario unless the turn is a retry. Fix: draw a fresh run id for every turn, "
                "or set retry=True on a turn that repeats a run of the same user and thread."
            )
        run_ids.setdefault(turn.run_id, (user.user_id, turn.thread_id))
        if turn.victim is not None:
            self.check_intrusion(turn, user, users)
        elif turn.thread_id not in user.thread_ids:
            raise self.fail(
                f"rule: thread_id={turn.thread_id!r} is a thread the user does not own; "
                f"{user.user_id!r} owns {list(user.thread_ids)!r}. "
                "Fix: use one of the user's thread_ids."
            )
        if not isinstance(turn.message, str):
            raise self.fail(
                f"rule: message={turn.message!r} (type {type(turn.message).__name__}) must be "
                "a string. Fix: send text carrying one of the user's canaries."
            )
        last = len(turn.plan) - 1
        for number, step in enumerate(turn.plan):
            self.check_step(number, step, last, turn)
        self.context.pop()

    def check_retry(
        self, turn: Turn, user: SimUser, run_ids: Mapping[str, tuple[str, str]]
    ) -> None:
        """A retry repeats the run id of an earlier turn of the same user on the same thread."""
        earlier = run_ids.get(turn.run_id)
        if earlier is None:
            raise self.fail(
                f"rule: retry=True but run_id={turn.run_id!r} is not the run id of an earlier "
                "turn: a retry repeats a run the scenario already sent. Fix: use the run id of "
                "an earlier turn of this user (sessions and turns are read in order), or "
                "set retry=False."
            )
        owner, thread_id = earlier
        if owner != user.user_id:
            raise self.fail(
                f"rule: retry of run_id={turn.run_id!r}, a run of user {owner!r}, from user "
                f"{user.user_id!r}: a retry repeats a run of the same user. Fix: retry only "
                "this user's own runs (a turn on another user's run is an intrusion)."
            )
        if turn.victim is not None:
            raise self.fail(
                f"rule: retry=True with victim={turn.victim!r}: an intrusion is never a retry. "
                "Fix: drop one of the two."
            )
        if turn.thread_id != thread_id:
            raise self.fail(
                f"rule: retry of run_id={turn.run_id!r} on thread_id={turn.thread_id!r}, but "
                f"the run was sent on thread_id={thread_id!r}: a retry repeats the run on its "
                "thread. Fix: use the thread of the turn it retries."
            )

    def check_intrusion(self, turn: Turn, user: SimUser, users: Mapping[str, SimUser]) -> None:
        """An intrusion names its victim, another user of the scenario who owns the thread."""
        victim = users.get(turn.victim) if isinstance(turn.victim, str) else None
        if victim is None or victim.user_id == user.user_id:
            raise self.fail(
                f"rule: victim={turn.victim!r} must be another user of the scenario (the owner "
                "of thread_id). Fix: name the user whose thread the intrusion turn uses."
            )
        if turn.thread_id not in victim.thread_ids:
            raise self.fail(
                f"rule: thread_id={turn.thread_id!r} of an intrusion must be a thread of its "
                f"victim {victim.user_id!r}, who owns {list(victim.thread_ids)!r}. "
                "Fix: use one of the victim's thread_ids."
            )

    def check_step(self, number: int, step: object, last: int, turn: Turn) -> None:
        if not isinstance(step, _STEP_TYPES):
            raise self.fail(
                f"step {number}",
                f"rule: step={step!r} (type {type(step).__name__}) is not a step. "
                "Fix: use Think, CallTool, Pause or Fail from harness.model.",
            )
        if isinstance(step, Pause) and not _is_time(step.seconds):
            raise self.fail(
                f"step {number}",
                f"rule: Pause seconds={step.seconds!r} must be a finite number >= 0. "
                "Fix: pause for 0 or more loop seconds.",
            )
        if isinstance(step, CallTool):
            if not isinstance(step.name, str) or not step.name:
                raise self.fail(
                    f"step {number}",
                    f"rule: CallTool name={step.name!r} must be a non-empty string. "
                    "Fix: name a tool such as 'echo' or 'search'.",
                )
            if not isinstance(step.params, Mapping):
                raise self.fail(
                    f"step {number}",
                    f"rule: CallTool params={step.params!r} must be a mapping. "
                    "Fix: pass a dict of parameters.",
                )
            if "delay" in step.params and not _is_time(step.params["delay"]):
                raise self.fail(
                    f"step {number}",
                    f"rule: CallTool({step.name!r}) delay={step.params['delay']!r} must be a "
                    "finite number of seconds >= 0. Fix: drop it or use 0 or more.",
                )
        if isinstance(step, Fail) and number != last:
            raise self.fail(
                f"step {number}",
                f"rule: a Fail step is not last: {step!r} is step {number} of {last + 1} and "
                f"is followed by {turn.plan[number + 1]!r}. "
                "Fix: move the Fail to the end of the plan or drop the steps after it.",
            )


def validate(scenario: Scenario) -> None:
    """Check ``scenario`` against the definition rules; return None when it is valid.

    Rules: users have distinct ids; ``heavy_users`` are users; session ids are unique; run ids
    are unique except on a ``retry`` turn, which repeats the run id of an earlier turn of the
    same user on the same thread; every session belongs to a known user and every turn to a
    thread its user owns;
    times (``opens_at``, ``gap``, ``keep_open``, ``close_after``, ``cancel_after``, pauses,
    tool ``delay``) are finite and not negative; ``reopen_turns`` need ``close_after``; steps are
    Think, CallTool, Pause or Fail, and a Fail is the last step. An empty plan is allowed.

    Raises:
        ScenarioError: for the first broken rule, context first, one line each.
    """
    if not isinstance(scenario, Scenario):
        raise ScenarioError(
            f"scenario={scenario!r} (type {type(scenario).__name__}) is not a Scenario. "
            "Fix: build one with harness.scenarios.build(name, seed, users)."
        )
    _Checker(scenario).run()
