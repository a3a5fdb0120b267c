"""The detectors are general: a second, differently built backend, never seen by the harness.

:mod:`suites.integration.alien2.broker` and :mod:`~suites.integration.alien2.workers` are an
agent backend with their own vocabulary (Broker, Pool, Worker, Ticket, Scope, Job, Outbox,
Channel, a Dispatcher draining one shared ``asyncio.Queue``; no import of ``harness_backend/`` or
of the
first alien backend) and one switch per isolation bug. The correct variant must give no finding;
each bug must give the finding kind that names it, with evidence pointing at the culprit.
"""

from __future__ import annotations

import pytest

from harness.model import Finding, RunResult
from harness.runner import run
from harness.scenarios import build
from suites.integration.alien2.adapter import BrokerTarget
from suites.integration.alien2.workers import BUGS

CLEAN_SCENARIOS = (
    "golden_path",
    "burst",
    "multi_tab",
    "limit_pressure",
    "tool_failure",
    "cancel",
    "reconnect",
    "noisy_neighbor",
    "soak",
    "tab_burst",
    "intrusion",
    "retry",
    "resume",
)
MODULE = "suites.integration.alien2.workers"


def _run(target: BrokerTarget, scenario: str, users: int = 6, seed: int = 0) -> RunResult:
    return run(target, build(scenario, seed, users), strategy="random")


def _of(result: RunResult, kind: str) -> list[Finding]:
    found = [f for f in result.findings if f.kind == kind]
    assert found, (kind, result.stats["findings_by_kind"], result.replay)
    return found


def _evidence(findings: list[Finding]) -> str:
    return "\n".join(line for f in findings for line in f.evidence)


def _crossing(findings: list[Finding]) -> list[Finding]:
    """The findings naming two different users (data or context of one reached the other)."""
    return [f for f in findings if len(f.users) == 2 and f.users[0] != f.users[1]]


# ----------------------------------------------------------------------------- correct variant


@pytest.mark.parametrize("scenario", CLEAN_SCENARIOS)
def test_the_correct_broker_backend_is_clean(scenario: str) -> None:
    result = _run(BrokerTarget(), scenario)
    assert result.findings == (), [(f.kind, f.summary, f.evidence[:3]) for f in result.findings]
    # Not clean by blindness: the roots were walked and the turns really ran.
    assert result.trace.observed["walks"] > 0
    assert result.stats["statuses"].get("completed", 0) > 0
    if scenario == "limit_pressure":
        assert result.stats["statuses"].get("rejected", 0) > 0
    if scenario in ("cancel", "reconnect"):
        assert result.stats["statuses"].get("cancelled", 0) > 0


@pytest.mark.parametrize("strategy", ["fifo", "pct"])
def test_the_correct_broker_backend_is_clean_under_other_schedules(strategy: str) -> None:
    for scenario in ("burst", "multi_tab", "cancel"):
        result = run(BrokerTarget(), build(scenario, 5, 5), strategy=strategy)
        assert result.findings == (), (scenario, [(f.kind, f.summary) for f in result.findings])


def test_the_correct_broker_limits_each_user_across_connections() -> None:
    result = run(BrokerTarget(), build("tab_burst", 0, 4), strategy="random")
    assert result.findings == (), [(f.kind, f.summary) for f in result.findings]
    # 6 turns per user, 2 slots per user: 2 complete, 4 are refused.
    assert result.stats["statuses"] == {"completed": 8, "rejected": 16}


def test_the_broker_target_loads_from_a_module_attr_spec() -> None:
    spec = "suites.integration.alien2.adapter:BrokerTarget"
    result = run(spec, build("golden_path", 0, 4), strategy="random")
    assert result.findings == ()
    assert result.replay.startswith(f"harness run --target {spec}")


def test_every_bug_switch_is_known() -> None:
    with pytest.raises(AssertionError, match="unknown bugs"):
        BrokerTarget(["no-such-bug"])
    assert {"dirty-pool", "shallow-config", "queue-recipient"} <= BUGS


# ----------------------------------------------------------------------------- pooled objects


def test_a_pool_that_does_not_reset_workers_leaks_the_previous_user() -> None:
    # Workers go back to the pool with their transcript, results and scope: the next user's
    # turn reports the previous user's tool results as its own.
    result = _run(BrokerTarget(["dirty-pool"]), "golden_path")
    mismatch = _crossing(_of(result, "context-mismatch"))
    assert mismatch, "no context-mismatch names the previous user"
    assert "echo in tool_results[" in _evidence(mismatch)
    foreign = _evidence(_of(result, "foreign-data"))
    assert "outcome result['tool_results']" in foreign
    assert ".worker.transcript[" in foreign  # the pooled worker, reached from the job
    kept = _evidence(_of(result, "retention"))
    assert "shared pool.idle[" in kept and ".transcript[" in kept
    assert "kept alive by pool.idle[" in kept  # the stale scope keeps the context alive


def test_a_shallow_copy_of_the_config_template_shares_its_nested_memory() -> None:
    result = _run(BrokerTarget(["shallow-config"]), "burst")
    shared = _of(result, "shared-state")
    assert '.worker.config["memory"]' in _evidence(shared)
    assert any(len(f.users) >= 2 for f in shared)
    assert '.worker.config["memory"]["notes"]' in _evidence(_crossing(_of(result, "foreign-data")))
    kept = _evidence(_of(result, "retention"))
    assert f'module global {MODULE}.CONFIG_TEMPLATE["memory"]["notes"]' in kept


# ----------------------------------------------------------------------------- scopes and caches


def test_a_child_scope_inheriting_the_process_default_runs_tools_as_another_user() -> None:
    result = _run(BrokerTarget(["default-parent"]), "burst")
    mismatch = _crossing(_of(result, "context-mismatch"))
    assert len({f.users[0] for f in mismatch}) == 1  # always the user who opened first
    text = _evidence(mismatch)
    assert "echo in tool_results[" in text and "ran under user_id=" in text
    assert f"module global {MODULE}._DEFAULT_SCOPE[0]" in _evidence(_of(result, "retention"))


def test_a_cache_whose_key_ignores_the_email_serves_another_users_prompt() -> None:
    # functools.cache on a staticmethod, keyed by a frozen dataclass whose equality skips
    # the e-mail: every user with the same locale and tone gets the first one's prompt.
    result = _run(BrokerTarget(["prompt-cache"]), "burst")
    found = _crossing(_of(result, "foreign-data"))
    text = _evidence(found)
    assert "agent_started payload['system']: email" in text
    assert len({f.users[0] for f in found}) == 1
    # The cache lives on in the class body: its results keep the users' e-mails after close.
    kept = _evidence(_of(result, "retention"))
    assert (
        "module global suites.integration.alien2.workers.Worker.system_prompt{cache value" in kept
    )


def test_scopes_registered_by_task_id_and_never_removed_reach_later_tasks() -> None:
    # setdefault(id(task), scope) without cleanup: a later task allocated at a dead task's
    # address inherits the dead task's scope.
    result = _run(BrokerTarget(["task-registry"]), "soak")
    kept = _evidence(_of(result, "retention"))
    assert f"kept alive by {MODULE}._SCOPES_BY_TASK[" in kept
    assert f"module global {MODULE}._SCOPES_BY_TASK[" in kept
    assert "echo in tool_results[" in _evidence(_of(result, "context-mismatch"))


def test_a_thread_local_current_scope_is_shared_by_every_task_on_the_loop() -> None:
    # threading.local is per thread, and every asyncio task runs on the one loop thread.
    result = _run(BrokerTarget(["thread-local"]), "burst")
    mismatch = _crossing(_of(result, "context-mismatch"))
    assert "echo in tool_results[" in _evidence(mismatch)
    # The last scope set stays in the local after close, and the walk says what keeps it.
    kept = _evidence(_of(result, "retention"))
    assert (
        "is still alive after close (kept alive by suites.integration.alien2.workers._LOCAL" in kept
    )


def test_an_audit_handler_at_module_level_keeps_every_message() -> None:
    # A logging.Handler subclass whose emit() appends the formatted line to a list.
    result = _run(BrokerTarget(["audit-handler"]), "golden_path")
    kept = _evidence(_of(result, "retention"))
    assert "module global suites.integration.alien2.workers._AUDIT.lines[" in kept
    assert {f.kind for f in result.findings} == {"retention"}


def test_a_logger_adapter_whose_extra_tracks_the_last_user_keeps_it() -> None:
    result = _run(BrokerTarget(["audit-adapter"]), "golden_path")
    assert 'shared broker.audit.extra["user"] = email' in _evidence(_of(result, "retention"))


# ----------------------------------------------------------------------------- events


def test_a_dispatcher_routing_by_the_last_poster_misroutes_events() -> None:
    result = _run(BrokerTarget(["queue-recipient"]), "burst")
    misrouted = _of(result, "event-misrouted")
    for finding in misrouted:
        owner, receiver = finding.users
        assert owner != receiver
        assert f"of {receiver} seq" in finding.evidence[0] and f"of {owner}" in finding.evidence[0]
    assert "missing agent_started" in _evidence(_of(result, "event-missing"))
    assert "shared dispatcher._recipient = user_id" in _evidence(_of(result, "retention"))


def test_events_stamped_with_the_brokers_focused_thread_carry_another_users_thread() -> None:
    result = _run(BrokerTarget(["focus-thread"]), "burst")
    found = _crossing(_of(result, "foreign-data"))
    assert "agent_started thread_id: thread_id" in _evidence(found)
    assert "shared broker.focus_thread = thread_id" in _evidence(_of(result, "retention"))


def test_catching_up_a_new_connection_on_every_active_thread_misroutes_events() -> None:
    result = _run(BrokerTarget(["replay-all"]), "multi_tab")
    misrouted = _of(result, "event-misrouted")
    assert all(f.users[0] != f.users[1] for f in misrouted)
    assert "agent_started: run run_" in _evidence(misrouted)


def test_think_steps_that_emit_nothing_are_missing_events() -> None:
    result = _run(BrokerTarget(["quiet-thinking"]), "golden_path")
    found = _of(result, "event-missing")
    assert "missing agent_thinking x1" in _evidence(found)
    assert {f.kind for f in result.findings} == {"event-missing"}


def test_a_failure_swallowed_into_agent_completed_is_a_missing_agent_error() -> None:
    result = _run(BrokerTarget(["swallow-fail"]), "tool_failure")
    assert "missing agent_error (plan step" in _evidence(_of(result, "event-missing"))
    assert result.stats["statuses"].get("error", 0) == 0  # the backend says all went well


def test_opening_another_users_thread_replays_its_running_events() -> None:
    # The turn itself is refused, but "catch the tab up on the thread it opens" never asked
    # whose thread it was: the victim's events in flight reach the intruder.
    result = _run(BrokerTarget(["replay-any-owner"]), "intrusion")
    misrouted = _of(result, "event-misrouted")
    for finding in misrouted:
        victim, intruder = finding.users
        assert f"of {intruder} seq" in finding.evidence[0] and f"of {victim}" in finding.evidence[0]
    assert result.stats["statuses"].get("rejected", 0) == 3  # the turns were still refused


# ----------------------------------------------------------------------------- retention, limits


def test_weak_key_metadata_that_points_back_at_its_key_keeps_jobs_alive() -> None:
    result = _run(BrokerTarget(["weak-meta"]), "burst")
    found = _of(result, "retention")
    text = _evidence(found)
    assert "still alive after close (kept alive by broker._meta.data[" in text
    assert ".job.ticket.message = canary" in text
    assert len({f.users[0] for f in found}) == 6


def test_a_limit_counted_per_connection_lets_a_user_with_two_tabs_double_it() -> None:
    result = run(BrokerTarget(["per-channel-limit"]), build("tab_burst", 0, 4), strategy="random")
    found = _of(result, "limit-breach")
    assert len({f.users[0] for f in found}) == 4
    assert "4 turns of" in _evidence(found) and "engines_per_user=2" in found[0].summary
