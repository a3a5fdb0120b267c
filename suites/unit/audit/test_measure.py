"""The audit on the project's own backends: quiet on the correct reference backend, and the
statically visible bug switches of the alien backends reported (docs/audit.md lists them)."""

from __future__ import annotations

from pathlib import Path

from harness.audit import audit

ROOT = Path(__file__).parents[3]


def test_reference_backend_has_nothing_at_or_above_warning() -> None:
    report = audit([ROOT / "harness_backend"])
    assert report.files > 10
    assert report.skipped == ()
    assert report.failing("warning") == (), [f"{i.location} {i.why}" for i in report.items]


def test_reference_backend_immutable_registries_are_not_items() -> None:
    names = {item.name for item in audit([ROOT / "harness_backend"]).items}
    for registry in (
        "harness_backend.faults.FAULTS",
        "harness_backend.context.PLACEHOLDER_IDS",
        "harness_backend.emitter.EVENT_TYPES",
        "harness_backend.protocol._ID_PATTERN",
    ):
        assert registry not in names


def test_alien_backends_static_bug_switches_are_reported() -> None:
    report = audit(sorted((ROOT / "suites" / "integration").glob("alien*")))
    found = {(item.name.rpartition(".")[2], item.kind, item.severity) for item in report.items}
    expected = {
        # suites/integration/alien: result-cache, current-request, module-registry,
        # class-default, dataclass-default, default-arg, closure-memo, answer-lru
        ("_RESULT_CACHE", "module-mutable", "warning"),
        ("CURRENT_REQUEST", "module-mutable", "warning"),
        ("_RUNNER_LOG", "module-mutable", "warning"),
        ("sent", "class-mutable", "warning"),
        ("book", "class-mutable", "warning"),
        ("note_with_default", "mutable-default", "warning"),
        ("closure_memo", "closure-state", "note"),
        ("_cached_answer", "cache", "note"),
        # suites/integration/alien2: shallow-config, default-parent, task-registry,
        # thread-local, audit-handler, prompt-cache
        ("CONFIG_TEMPLATE", "module-mutable", "warning"),
        ("_DEFAULT_SCOPE", "module-mutable", "warning"),
        ("_SCOPES_BY_TASK", "module-mutable", "warning"),
        ("_LOCAL", "thread-local", "warning"),
        ("_AUDIT", "module-mutable", "warning"),
        ("system_prompt", "cache", "note"),
        # suites/integration/alien3: park-on-close (its shared telemetry and the agent-kind
        # registry are suppressed in its source with a reason, as a user would)
        ("_RESUMABLE", "module-mutable", "warning"),
    }
    assert expected <= found, expected - found
    # Nothing else at or above warning: the read-only tables are notes at most.
    assert {i.name.rpartition(".")[2] for i in report.failing("warning")} == {
        name for name, _kind, severity in expected if severity == "warning"
    }
