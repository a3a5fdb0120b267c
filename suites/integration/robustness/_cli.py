"""Running ``harness run`` for the robustness tests and reading what it left behind."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.cli import main

HERE = Path(__file__).parent
#: The repository root: ``--target`` imports modules from the current directory first.
ROOT = HERE.parents[2]
#: The module of the misbehaving adapters, as ``--target`` names it.
ADAPTERS = "suites.integration.robustness.robust_adapters"
_MAIN = "import sys; from harness.cli import main; sys.exit(main(sys.argv[1:]))"


@dataclass(frozen=True, slots=True)
class Outcome:
    """The exit code, what went to stdout and stderr, and the report directory."""

    code: int
    out: str
    err: str
    report: Path

    def findings_file(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.report / "findings.json").read_text())
        return data

    def findings(self, kind: str) -> list[dict[str, Any]]:
        data = self.findings_file()
        runs = data.get("runs") or [data]
        return [f for run in runs for f in run["findings"] if f["kind"] == kind]

    def text_of(self, kind: str) -> str:
        """Summaries and evidence of every finding of ``kind``, one per line."""
        return "\n".join(
            line for f in self.findings(kind) for line in (f["summary"], *f["evidence"])
        )


def run_harness(capsys: Any, report: Path, *args: str) -> Outcome:
    """``harness run`` in this process (bounded by pytest-timeout)."""
    code = main(["run", "--report", str(report), "--scenario", "golden_path", *args])
    captured = capsys.readouterr()
    return Outcome(code, captured.out, captured.err, report)


def run_harness_process(report: Path, *args: str, timeout: float = 120) -> Outcome:
    """``harness run`` in a fresh process, from the repository root (alarms work there)."""
    done = subprocess.run(
        [sys.executable, "-c", _MAIN, "run", "--report", str(report), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Outcome(done.returncode, done.stdout, done.stderr, report)
