"""Fixtures of the audit tests: small fixture modules written into a temporary project."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.audit import AuditItem, audit

#: Writes ``pkg/<name>.py`` with the dedented source into a temporary project, audits the
#: package and returns its items.
AuditSource = Callable[..., list[AuditItem]]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A temporary project: an empty pyproject.toml and a package ``pkg``."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'fixture'\n", encoding="utf-8")
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    return tmp_path


@pytest.fixture
def audit_source(project: Path) -> AuditSource:
    def run(source: str, name: str = "mod") -> list[AuditItem]:
        (project / "pkg" / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        return list(audit([project / "pkg"]).items)

    return run


def kinds(items: list[AuditItem]) -> list[tuple[str, str, int]]:
    """``(kind, severity, line)`` of each item, in report order."""
    return [(item.kind, item.severity, item.line) for item in items]


def only(items: list[AuditItem], kind: str) -> AuditItem:
    """The one item of ``kind`` (fails when there is not exactly one)."""
    __tracebackhide__ = True
    matching = [item for item in items if item.kind == kind]
    assert len(matching) == 1, f"expected one {kind} item, got {kinds(items)}"
    return matching[0]
