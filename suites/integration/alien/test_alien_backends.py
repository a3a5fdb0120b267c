"""The detectors are general: they catch bugs in a backend they were never written against.

:mod:`suites.integration.alien.backends` is an independently designed agent backend (Pipeline,
Runner, Workspace, Outbox, ToolBox, Hub; no import of ``harness_backend/``) with one switch per
isolation
bug. Its correct variant must give no finding on any scenario; each bug must give the finding
kind that names it, with evidence that points at the culprit.
"""

from __future__ import annotations

import pytest

from harness.model import Finding, RunResult
from harness.runner import run
from harness.scenarios import build
from suites.integration.alien.adapter import AlienTarget
from suites.integration.alien.backends import BUGS

CLEAN_SCENARIOS = (
    "golden_path",
    "burst",
    "multi_tab",
    "limit_pressure",
    "tool_failure",
    "cancel",
    "reconnect",
    "noisy_neighbor",
    "tab_burst",
    "intrusion",
    "retry",
    "resume",
)

#: Shared scratch holders the walk sees through (each becomes a shared-state finding).
SEEN_SCRATCH_KINDS = (
    "defaultdict",
    "ordereddict-subclass",
    "deque",
    "slots-object",
    "simplenamespace",
    "chainmap",
    "partial",
    "bound-method",
    "bytearray",
    "weakvaluedict",
    "closure",
    "array",
)


def _run(target: AlienTarget, scenario: str, users: int = 8, seed: int = 0) -> RunResult:
    return run(target, build(scenario, seed, users), strategy="random")


def _of(result: RunResult, kind: str) -> list[Finding]:
    found = [f for f in result.findings if f.kind == kind]
    assert found, (kind, result.stats["findings_by_kind"], result.replay)
    return found


def _evidence(findings: list[Finding]) -> str:
    return "\n".join(line for f in findings for line in f.evidence)


# ----------------------------------------------------------------------------- correct variant


@pytest.mark.parametrize("scenario", CLEAN_SCENARIOS)
def test_the_correct_alien_backend_is_clean(scenario: str) -> None:
    result = _run(AlienTarget(), scenario)
    assert result.findings == (), [(f.kind, f.summary, f.evidence[:3]) for f in result.findings]
    # Not clean by blindness: the roots were walked and the turns really ran.
    assert result.trace.observed["walks"] > 0
    assert result.stats["statuses"].get("completed", 0) > 0
    if scenario in ("limit_pressure", "tab_burst", "intrusion"):
        assert result.stats["statuses"].get("rejected", 0) > 0


@pytest.mark.parametrize("strategy", ["fifo", "pct"])
def test_the_correct_alien_backend_is_clean_under_other_schedules(strategy: str) -> None:
    for scenario in ("burst", "multi_tab", "soak"):
        result = run(AlienTarget(), build(scenario, 3, 6), strategy=strategy)
        assert result.findings == (), (scenario, [(f.kind, f.summary) for f in result.findings])


@pytest.mark.parametrize("kind", SEEN_SCRATCH_KINDS)
def test_a_per_runner_scratch_holder_is_clean(kind: str) -> None:
    result = _run(AlienTarget(scratch=kind), "burst")
    assert result.findings == (), [(f.kind, f.summary) for f in result.findings]


def test_the_alien_target_loads_from_a_module_attr_spec() -> None:
    spec = "suites.integration.alien.adapter:AlienTarget"
    result = run(spec, build("golden_path", 0, 4), strategy="random")
    assert result.findings == ()
    assert result.replay.startswith(f"harness run --target {spec}")


def test_every_bug_switch_is_known() -> None:
    with pytest.raises(AssertionError, match="unknown bugs"):
        AlienTarget(["no-such-bug"])
    assert "result-cache" in BUGS


# ----------------------------------------------------------------------------- caches and context


def test_a_tool_result_cache_keyed_by_params_leaks_foreign_data() -> None:
    # Module dict keyed by (tool, params): a second user sending the same common search gets the
    # first user's personalized result.
    result = _run(AlienTarget(["result-cache"]), "burst")
    found = _of(result, "foreign-data")
    text = _evidence(found)
    assert "['ranked_for']" in text and "user_id" in text
    assert all(len(f.users) == 2 and f.users[0] != f.users[1] for f in found)
    # The cache is module-level state nobody declared: after close it still holds user data.
    kept = _evidence(_of(result, "retention"))
    assert "module global suites.integration.alien.backends._RESULT_CACHE" in kept


def test_an_lru_cached_answer_that_reads_the_ambient_user_leaks_foreign_data() -> None:
    # functools.lru_cache keyed by the normalized question; the value embeds the e-mail of the
    # user whose run filled the cache.
    result = _run(AlienTarget(["answer-lru"]), "burst")
    text = _evidence(_of(result, "foreign-data"))
    assert "['response']" in text and "email" in text


def test_a_module_level_current_request_swaps_the_context_mid_run() -> None:
    result = _run(AlienTarget(["current-request"]), "burst")
    found = _of(result, "context-mismatch")
    text = _evidence(found)
    assert "echo in tool_results" in text and "ran under" in text
    assert any(len(f.users) == 2 for f in found)  # names the user whose context it was


def test_one_shared_contextvars_context_swaps_the_context_mid_run() -> None:
    # Every run is a task created with context=<one Context made at start>: ContextVar.set in one
    # run is seen by every other run.
    result = _run(AlienTarget(["shared-context"]), "burst")
    assert "echo in tool_results" in _evidence(_of(result, "context-mismatch"))
    # The last workspace set stays in the shared Context after close.
    assert "pipeline._context['acting_workspace']" in _evidence(_of(result, "retention"))


# ----------------------------------------------------------------------------- events


def test_a_hub_replying_to_the_last_connection_misroutes_events() -> None:
    result = _run(AlienTarget(["reply-to-last"]), "burst")
    found = _of(result, "event-misrouted")
    for finding in found:
        sender, receiver = finding.users
        assert sender != receiver
        # Evidence: a run of the sender seen on a session of the receiver.
        assert f"of {receiver} seq" in finding.evidence[0] and f"of {sender}" in finding.evidence[0]
    assert "agent_started" in _evidence(_of(result, "event-missing"))


def test_a_notifier_defaulting_to_none_drops_tool_events() -> None:
    result = _run(AlienTarget(["null-notifier"]), "golden_path")
    text = _evidence(_of(result, "event-missing"))
    assert "0 tool_executing/tool_completed events" in text


def test_a_finally_block_that_always_completes_duplicates_the_terminal() -> None:
    result = _run(AlienTarget(["finally-terminal"]), "tool_failure")
    text = _evidence(_of(result, "event-order"))
    assert "second terminal" in text
    assert "agent_error" in text  # a failed run: agent_error, then the stray agent_completed


def test_a_fire_and_forget_tool_event_arrives_after_the_terminal() -> None:
    result = _run(AlienTarget(["deferred-notify"]), "burst")
    text = _evidence(_of(result, "event-order"))
    assert "tool_completed arrived after the terminal" in text


# ----------------------------------------------------------------------------- shared objects


def test_a_class_level_list_default_is_shared_state() -> None:
    result = _run(AlienTarget(["class-default"]), "burst")
    assert "LeakyOutbox.sent" in _evidence(_of(result, "shared-state"))
    assert "LeakyOutbox.sent" in _evidence(_of(result, "foreign-data"))
    # The class body is module-level state: after close the list still holds every message.
    kept = _evidence(_of(result, "retention"))
    assert "module global suites.integration.alien.backends.LeakyOutbox.sent[" in kept


def test_a_dataclass_default_instance_is_shared_state() -> None:
    # `book: Notebook = Notebook()` passes dataclasses' mutable-default check (it is hashable).
    result = _run(AlienTarget(["dataclass-default"]), "burst")
    text = _evidence(_of(result, "shared-state"))
    assert ".stats.book" in text or "LeakyRunStats.book" in text
    assert ".book.lines" in _evidence(_of(result, "foreign-data"))


def test_profiles_keyed_by_email_domain_are_shared_between_users() -> None:
    result = _run(AlienTarget(["domain-profile"]), "burst")
    shared = _of(result, "shared-state")
    assert any("Profile" in f.summary for f in shared)
    assert ".profile" in _evidence(shared)
    assert ".profile.email" in _evidence(_of(result, "foreign-data"))


@pytest.mark.parametrize("kind", SEEN_SCRATCH_KINDS)
def test_one_scratch_holder_for_every_runner_is_shared_state(kind: str) -> None:
    result = _run(AlienTarget(["shared-scratch"], scratch=kind), "burst")
    found = _of(result, "shared-state")
    assert ".scratch" in _evidence(found)
    assert any(len(f.users) >= 2 for f in found)


def test_a_gateway_that_never_checks_thread_ownership_lets_intruders_in() -> None:
    result = _run(AlienTarget(["any-thread"]), "intrusion")
    found = _of(result, "foreign-data")
    text = _evidence(found)
    assert "'s thread thread_" in text and "completed, not rejected" in text
    assert any(f.summary.endswith(f"ran a turn on a thread of {f.users[0]}") for f in found)
    assert result.stats["statuses"].get("rejected", 0) == 0


# ----------------------------------------------------------------------------- retention, limits


def test_a_pipeline_that_keeps_every_runner_retains_user_data() -> None:
    result = _run(AlienTarget(["never-forget"]), "burst")
    text = _evidence(_of(result, "retention"))
    assert "pipeline._made[" in text
    assert "still alive after close (kept alive by pipeline._made[" in text


def test_a_module_level_runner_log_keeps_roots_alive() -> None:
    # Held from a module global: the weak references say "alive", the module walk says by what.
    result = _run(AlienTarget(["module-registry"]), "burst")
    found = _of(result, "retention")
    text = _evidence(found)
    assert (
        "still alive after close (kept alive by suites.integration.alien.backends._RUNNER_LOG["
        in text
    )
    assert len({f.users[0] for f in found}) == 8


def test_a_memo_shared_through_a_closure_is_shared_state() -> None:
    # Every runner gets the pipeline's closure; the dict it closes over collects every message.
    result = _run(AlienTarget(["closure-memo"]), "burst")
    assert ".memo{closure seen}" in _evidence(_of(result, "shared-state"))
    assert ".memo{closure seen}" in _evidence(_of(result, "foreign-data"))
    assert "pipeline._memo{closure seen}" in _evidence(_of(result, "retention"))


def test_a_mutable_default_argument_is_shared_state_and_retention() -> None:
    # def note(run_id, text, _seen={}): one dict for every runner, kept by the module forever.
    result = _run(AlienTarget(["default-arg"]), "burst")
    assert ".memo{default _seen}" in _evidence(_of(result, "shared-state"))
    kept = _evidence(_of(result, "retention"))
    assert "note_with_default{default _seen}" in kept


def test_a_check_then_await_limit_is_breached_by_a_burst() -> None:
    result = _run(AlienTarget(["racy-limit"]), "limit_pressure")
    text = _evidence(_of(result, "limit-breach"))
    assert "burst of 4 turns, 0 rejected" in text
    assert result.stats["statuses"].get("rejected", 0) == 0
