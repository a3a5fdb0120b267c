"""Fixtures of the audit tests: small fixture modules written into a temporary project."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from harness.audit import AuditItem, audit
from suites.unit.audit.items import AuditSource


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
