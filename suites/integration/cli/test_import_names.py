"""The distribution installs one import name (plus the reference backend's distinctive one).

A user's own service is very often a package called ``backend`` (or ``scenarios``, ``bench``):
it must be importable as ``--target backend.adapter:T`` from the directory ``harness`` runs in,
which it was not while the harness installed generic top-level packages of those names.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import pytest

ADAPTER = textwrap.dedent(
    """
    from harness.targets.reference import ReferenceTarget

    MARK = "the user's own {name} package"


    class T(ReferenceTarget):
        name = "{name}-adapter"
    """
)


def test_the_distribution_installs_harness_and_harness_backend_only() -> None:
    files = metadata.files("isolation-harness") or []
    tops = {
        file.parts[0].removesuffix(".py")
        for file in files
        if file.suffix == ".py" or (len(file.parts) > 1 and file.parts[1] == "__init__.py")
    }
    tops = {name for name in tops if not name.startswith("__editable__")}
    if tops:  # a wheel install lists its files; an editable one lists only its finder
        assert tops <= {"harness", "harness_backend"}, tops
    top_level = metadata.distribution("isolation-harness").read_text("top_level.txt")
    if top_level is not None:
        assert set(top_level.split()) <= {"harness", "harness_backend"}, top_level


@pytest.mark.parametrize("name", ["backend", "scenarios", "bench"])
def test_a_user_package_with_a_generic_name_is_a_target(tmp_path: Path, name: str) -> None:
    package = tmp_path / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "adapter.py").write_text(ADAPTER.format(name=name))
    report = tmp_path / "report"
    # The console script, as a user types it: it does not put the current directory first on
    # sys.path, and it imports the harness (and the reference backend's fault list) before the
    # target, so a generic top-level name installed by the harness would win.
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("harness")),
            "run",
            "--target",
            f"{name}.adapter:T",
            "--scenario",
            "golden_path",
            "--users",
            "3",
            "--report",
            str(report),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads((report / "findings.json").read_text())
    assert data["target"] == f"{name}.adapter:T"
    assert data["findings"] == []
