"""``python -m harness`` is the ``harness`` command, for environments without the console script."""

from __future__ import annotations

import subprocess
import sys

from harness import __version__


def test_python_dash_m_harness_is_the_harness_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "harness", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"harness {__version__}"


def test_python_dash_m_harness_passes_on_the_exit_code() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "harness", "run", "--scenario", "no_such_scenario"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "no_such_scenario" in done.stderr
