"""``harness audit`` on the command line: outputs, exit codes, usage errors, --target."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from harness.cli import main

ROOT = Path(__file__).parents[3]

MUTATED = """\
_cache = {}
ROUTES = {"a": 1}


def remember(user_id, value):
    _cache[user_id] = value
"""


@pytest.fixture
def package(project: Path) -> Path:
    (project / "pkg" / "mod.py").write_text(MUTATED, encoding="utf-8")
    return project / "pkg"


def test_warning_fails_by_default_and_table_groups_by_module(
    package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", str(package)]) == 1
    out = capsys.readouterr().out
    assert "pkg.mod" in out
    assert "pkg/mod.py:1" in out and "module-mutable" in out
    assert "0 errors, 1 warnings, 1 notes, 0 suppressed; 1 at or above warning" in out


def test_fail_on_error_passes_and_note_fails(package: Path) -> None:
    assert main(["audit", str(package), "--fail-on", "error"]) == 0
    assert main(["audit", str(package), "--fail-on", "note"]) == 1


def test_clean_code_exits_zero(project: Path) -> None:
    (project / "pkg" / "mod.py").write_text("NAMES = ('a',)\n", encoding="utf-8")
    assert main(["audit", str(project / "pkg")]) == 0


def test_json_prints_exactly_one_object(package: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", str(package), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["counts"] == {"note": 1, "warning": 1, "error": 0}
    assert data["failing"] == 1
    assert [(i["kind"], i["line"], i["path"]) for i in data["items"]] == [
        ("module-mutable", 1, "pkg/mod.py"),
        ("module-mutable", 2, "pkg/mod.py"),
    ]


def test_sarif_file_is_written(package: Path, tmp_path: Path) -> None:
    out = tmp_path / "out" / "audit.sarif"
    assert main(["audit", str(package), "--sarif", str(out), "--json"]) == 1
    log = json.loads(out.read_text(encoding="utf-8"))
    assert log["version"] == "2.1.0"
    assert len(log["runs"][0]["results"]) == 2


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["audit", "no/such/dir"], "path='no/such/dir' does not exist"),
        (["audit", ".", "--fail-on", "warn"], "--fail-on='warn' is not a severity"),
        (["audit"], "give a PATH to audit or --target"),
        (["audit", "--target", "nocolon"], "is not module:attr"),
        (["audit", "--target", "no_such_module_xyz:T"], "cannot import 'no_such_module_xyz'"),
        (["audit", ".", "--runs", "no/such/reports"], "holds no findings.json"),
    ],
)
def test_usage_errors_exit_two_with_a_message(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(arguments) == 2
    assert message in capsys.readouterr().err


def test_a_file_that_is_not_python_is_a_usage_error(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notes = project / "notes.txt"
    notes.write_text("x", encoding="utf-8")
    assert main(["audit", str(notes)]) == 2
    assert f"path={str(notes)!r} is not a .py file" in capsys.readouterr().err


def test_unparsable_pyproject_is_a_usage_error(
    package: Path, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "pyproject.toml").write_text("[tool.harness.audit\n", encoding="utf-8")
    assert main(["audit", str(package)]) == 2
    assert "cannot be read as TOML" in capsys.readouterr().err


def test_unparsable_files_are_listed_as_skipped(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "pkg" / "broken.py").write_text("def (:\n", encoding="utf-8")
    assert main(["audit", str(project / "pkg")]) == 0
    assert "skipped (not parsable)" in capsys.readouterr().out


def test_target_audits_the_packages_of_the_target_and_of_its_backend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    adapters = tmp_path / "audit_target_adapters"
    backend = tmp_path / "audit_target_backend"
    for package in (adapters, backend):
        package.mkdir()
        (package / "__init__.py").write_text("", encoding="utf-8")
    (backend / "state.py").write_text(MUTATED, encoding="utf-8")
    (adapters / "adapter.py").write_text(
        textwrap.dedent(
            """
            import json


            class FixtureTarget:
                name = "fixture"

                async def start(self):
                    from audit_target_backend import state  # imported only when started

                    self.state = state
            """
        ),
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("audit_target_adapters", "audit_target_adapters.adapter"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    code = main(["audit", "--target", "audit_target_adapters.adapter:FixtureTarget", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 1
    assert {item["name"] for item in data["items"]} == {
        "audit_target_backend.state._cache",
        "audit_target_backend.state.ROUTES",
    }
    assert "audit_target_backend" not in sys.modules  # audited, never imported


def test_reference_target_audits_the_reference_backend(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["audit", "--target", "harness.targets.reference:ReferenceTarget", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert {item["path"].split("/")[0] for item in data["items"]} <= {"harness_backend"}
    assert data["files"] == len(list((ROOT / "harness_backend").rglob("*.py")))


def test_target_with_no_project_package_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["audit", "--target", "harness.targets.websocket:WebSocketTarget"]) == 2
    assert "found no package of the project to audit" in capsys.readouterr().err
