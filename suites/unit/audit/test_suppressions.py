"""Suppressions: the inline comment (with a reason) and the pyproject.toml allowlist."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.audit import audit
from harness.errors import UsageError
from suites.unit.audit.items import AuditSource, kinds


def test_inline_comment_with_a_reason_suppresses_the_item(audit_source: AuditSource) -> None:
    items = audit_source(
        """
        _routes = {}  # harness: shared-ok filled at import, read-only after

        def add(name, route):
            _routes[name] = route
        """
    )
    assert [(i.kind, i.suppressed) for i in items] == [
        ("module-mutable", "filled at import, read-only after")
    ]


def test_inline_comment_on_the_last_line_of_a_statement_counts(audit_source: AuditSource) -> None:
    items = audit_source(
        """
        _routes = {
            "a": 1,
        }  # harness: shared-ok routes are static

        def add(name):
            _routes[name] = 2
        """
    )
    assert [i.suppressed for i in items] == ["routes are static"]


def test_bare_comment_suppresses_nothing_and_is_reported(audit_source: AuditSource) -> None:
    items = audit_source(
        """
        _routes = {}  # harness: shared-ok

        def add(name, route):
            _routes[name] = route
        """
    )
    assert sorted(kinds(items)) == [
        ("bare-suppression", "warning", 2),
        ("module-mutable", "warning", 2),
    ]
    assert all(item.suppressed is None for item in items)


def _pyproject(project: Path, body: str) -> None:
    (project / "pyproject.toml").write_text(body, encoding="utf-8")


def test_allowlist_entries_suppress_by_module_and_name(
    project: Path, audit_source: AuditSource
) -> None:
    _pyproject(
        project,
        """
[tool.harness.audit]
allow = [
    "pkg.mod:_routes  # read-only after import",
    {name = "pkg.mod:Outbox.*", reason = "one outbox per process by design"},
]
""",
    )
    items = audit_source(
        """
        _routes = {}
        _other = []

        class Outbox:
            sent = []

        def change():
            _routes["a"] = 1
            _other.append(1)
        """
    )
    assert [(i.name, i.suppressed) for i in items] == [
        ("pkg.mod._routes", "read-only after import"),
        ("pkg.mod._other", None),
        ("pkg.mod.Outbox.sent", "one outbox per process by design"),
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[tool.harness.audit]\nallow = ["pkg.mod:_routes"]\n', "gives no reason"),
        ('[tool.harness.audit]\nallow = ["_routes  # why"]\n', "is not module:NAME"),
        ("[tool.harness.audit]\nallow = 3\n", "must be a list"),
        ("[tool.harness.audit]\nallow = [3]\n", "expected a string or a table"),
        ("[tool.harness.audit\n", "cannot be read as TOML"),
    ],
)
def test_bad_allowlists_are_usage_errors(project: Path, body: str, message: str) -> None:
    _pyproject(project, body)
    (project / "pkg" / "mod.py").write_text("X = 1\n", encoding="utf-8")
    with pytest.raises(UsageError, match=message) as caught:
        audit([project / "pkg"])
    assert "pyproject" in str(caught.value) or "allow" in str(caught.value)


def test_allowlisted_object_silences_its_accessor(project: Path, audit_source: AuditSource) -> None:
    _pyproject(project, '[tool.harness.audit]\nallow = ["pkg.mod:_pool  # one pool by design"]\n')
    items = audit_source(
        """
        class Pool:
            pass

        _pool = Pool()

        def get_pool():
            return _pool

        def grow():
            _pool.size = 2
        """
    )
    assert [(i.kind, i.suppressed) for i in items] == [("module-mutable", "one pool by design")]
