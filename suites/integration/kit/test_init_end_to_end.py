"""From nothing to a verdict, as a new user would: init, fill in, check, run, break, catch.

In a fresh directory outside the repository, ``harness init`` writes the adapter skeleton; the
test fills in its six marked places for :mod:`tiny_factory` (a small factory-pattern backend
that knows nothing of the harness), ``harness check-target`` passes, ``harness run`` is clean,
and a one-line isolation bug in the backend (its registry hands out one shared agent) is
reported with exit code 1 and its kind.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parents[2]
HARNESS = str(Path(sys.executable).with_name("harness"))
SPEC = "isolation_target:BackendTarget"

#: What a user writes at each marked place for tiny_factory (replacing the line under it).
FILL_INS = {
    1: "from tiny_factory import Factory, LimitReached\n\n"
    "BACKEND_REFUSALS: tuple[type[Exception], ...] = (LimitReached,)",
    2: "self.factory = Factory(self.connections, engines_per_user=2)",
    3: "return factory.create_engine(self.user.user_id, turn.thread_id, turn.run_id)",
    4: "try:\n"
    "    return await run_plan(turn, emit=run.emit, call_tool=run.call_tool)\n"
    "finally:\n"
    "    self.target.factory.release(run)",
    5: 'return {"engine": run, "context": run.context, "agents": run.registry, '
    '"tool_dispatcher": run.dispatcher}',
    6: 'return {"factory": self.factory}',
}


def fill_in(source: str, answers: dict[int, str]) -> str:
    """Replace the first code line under each ``# FILL IN (n/6)`` comment with ``answers[n]``."""
    lines = source.splitlines()
    for number, code in answers.items():
        marker = next(i for i, line in enumerate(lines) if f"# FILL IN ({number}/6)" in line)
        place = next(
            i for i in range(marker + 1, len(lines)) if not lines[i].strip().startswith("#")
        )
        indent = lines[place][: len(lines[place]) - len(lines[place].lstrip())]
        lines[place : place + 1] = [indent + row if row else row for row in code.splitlines()]
    return "\n".join(lines) + "\n"


def harness(directory: Path, *words: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "COLUMNS")}
    environment["COLUMNS"] = "200"
    return subprocess.run(
        [HARNESS, *words],
        cwd=directory,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    directory = tmp_path / "my-project"
    directory.mkdir()
    assert REPOSITORY not in directory.resolve().parents
    shutil.copy(HERE / "tiny_factory.py", directory / "tiny_factory.py")
    return directory


def test_init_fill_in_check_run_and_catch_the_classic_bug(project: Path) -> None:
    written = harness(project, "init")
    assert written.returncode == 0, written.stderr
    assert f"harness check-target {SPEC}" in written.stdout
    skeleton = (project / "isolation_target.py").read_text()
    assert all(f"# FILL IN ({n}/6)" in skeleton for n in range(1, 7))

    # Not filled in yet: the check fails, and says where.
    unfilled = harness(project, "check-target", SPEC)
    assert unfilled.returncode == 1, unfilled.stdout + unfilled.stderr
    assert "FILL IN (2/6)" in unfilled.stdout

    adapter = fill_in(skeleton, FILL_INS).replace(
        "        return {}\n", '        return {"engines_per_user": 2}\n'
    )
    (project / "isolation_target.py").write_text(adapter)
    checked = harness(project, "check-target", SPEC)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "FAIL" not in checked.stdout and checked.stdout.count("pass") >= 9

    clean = harness(project, "run", "--target", SPEC, "--scenario", "all", "--users", "6")
    assert clean.returncode == 0, clean.stdout[-3000:] + clean.stderr
    report = json.loads((project / "reports" / "latest" / "findings.json").read_text())
    assert len(report["runs"]) >= 10  # every built-in scenario ran
    assert _kinds(report) == set()
    assert all(run["stats"]["statuses"].get("completed", 0) > 0 for run in report["runs"])

    # The classic bug, one line: the registry hands every engine the module's one agent.
    backend = (project / "tiny_factory.py").read_text()
    broken = backend.replace('agent = Agent("assistant")', "agent = _ASSISTANT")
    assert broken.count("_ASSISTANT") == backend.count("_ASSISTANT") + 1
    (project / "tiny_factory.py").write_text(broken)
    caught = harness(project, "run", "--target", SPEC, "--scenario", "burst", "--users", "6")
    assert caught.returncode == 1, caught.stdout[-3000:] + caught.stderr
    report = json.loads((project / "reports" / "latest" / "findings.json").read_text())
    kinds = _kinds(report)
    assert {"shared-state", "context-mismatch"} <= kinds, kinds
    assert "shared-state" in caught.stdout


def _kinds(report: dict[str, Any]) -> set[str]:
    runs = report.get("runs") or [report]
    return {finding["kind"] for run in runs for finding in run["findings"]}


def test_init_refuses_to_overwrite_without_force(project: Path) -> None:
    assert harness(project, "init").returncode == 0
    (project / "isolation_target.py").write_text("# mine\n")
    again = harness(project, "init")
    assert again.returncode == 2
    assert "already exists" in again.stderr and "--force" in again.stderr
    assert (project / "isolation_target.py").read_text() == "# mine\n"
    forced = harness(project, "init", "--force")
    assert forced.returncode == 0
    assert "FILL IN (1/6)" in (project / "isolation_target.py").read_text()


def test_init_into_another_directory_says_where_to_run_from(project: Path) -> None:
    written = harness(project, "init", "adapters/my_target.py")
    assert written.returncode == 0, written.stderr
    text = (project / "adapters" / "my_target.py").read_text()
    assert text.startswith('"""my_target:')
    assert (
        "cd " in written.stdout and "harness check-target my_target:BackendTarget" in written.stdout
    )


def test_check_target_on_a_target_that_cannot_load_exits_2(project: Path) -> None:
    result = harness(project, "check-target", "no_such_module:Target")
    assert result.returncode == 2
    assert "no_such_module" in result.stderr
