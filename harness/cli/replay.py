"""``harness replay FINDINGS.json``: re-execute the run a findings file describes.

Exit codes: 1 when the recorded findings reproduce (for a clean file: when the replay finds
any), 0 when they do not, 2 on an unreadable file.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.cli._options import EXIT_CLEAN, EXIT_FINDINGS
from harness.model import RunResult, Scenario

__all__ = ["COMMANDS", "add_commands", "command_replay", "rerun", "scenario_of"]


def add_commands(commands: Any) -> None:
    """Register ``replay`` on the ``harness`` sub-command parser."""
    parser = commands.add_parser(
        "replay",
        help="re-execute a findings file and confirm it",
        description="Re-execute the run a findings file describes and confirm its findings. "
        "Exit codes: 1 reproduced, 0 not reproduced, 2 unreadable file.",
    )
    parser.add_argument("findings", type=Path, help="a findings.json written by the harness")


def rerun(recorded: Any, scenario: Scenario) -> RunResult:
    """Run ``scenario`` against the target, strategy and fault a findings file records."""
    from harness.runner import run

    return run(recorded.target, scenario, strategy=recorded.strategy, fault=recorded.fault)


def command_replay(args: argparse.Namespace) -> int:
    from harness.reporting import read_findings

    recorded = read_findings(args.findings)
    scenario = scenario_of(recorded)
    result = rerun(recorded, scenario)
    expected = sorted({f["kind"] if isinstance(f, dict) else f.kind for f in recorded.findings})
    found = sorted({f.kind for f in result.findings})
    same_trace = result.trace_digest == recorded.trace_digest
    replayed = (
        f"replayed {recorded.scenario} seed={recorded.seed} strategy={recorded.strategy} "
        f"on {recorded.target}"
    )
    if not result.trace.deterministic:
        # A remote target, or one declaring deterministic=False (wall time, uuid4): its trace
        # differs from run to run by nature, so digests prove nothing; the findings are compared.
        print(
            f"{replayed}: best effort (the target is not deterministic): comparing findings, "
            "not trace digests"
        )
    else:
        print(
            f"{replayed}: trace {'identical' if same_trace else 'differs'} "
            f"({result.trace_digest[:12]} vs recorded {str(recorded.trace_digest)[:12]})"
        )
    if expected and set(expected) <= set(found):
        print(f"reproduced: {', '.join(expected)}")
        return EXIT_FINDINGS
    if not expected:
        print("the recorded run had no findings; the replay has " + (", ".join(found) or "none"))
        return EXIT_FINDINGS if found else EXIT_CLEAN
    why = (
        "the target is remote or not deterministic, so the schedule cannot be forced"
        if (not result.trace.deterministic)
        else "the trace differs: the target or the harness changed since the file was written"
        if (not same_trace)
        else "same trace, but the detectors changed"
    )
    print(
        f"did not reproduce {', '.join(expected)} (found: {', '.join(found) or 'nothing'}): {why}"
    )
    return EXIT_CLEAN


def scenario_of(recorded: Any) -> Scenario:
    """The scenario a findings file records (its spec, or rebuilt from name, seed, users)."""
    from harness.errors import FindingsFileError
    from harness.scenarios import build
    from harness.serialization import from_data

    if recorded.scenario_spec is not None:
        spec = recorded.scenario_spec
        return spec if isinstance(spec, Scenario) else from_data(Scenario, spec)
    users = int((recorded.stats or {}).get("users", 0))
    if not users:
        raise FindingsFileError(
            f"{recorded!r} has neither scenario_spec nor stats.users: cannot rebuild the scenario"
        )
    return build(recorded.scenario, recorded.seed, users)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {"replay": command_replay}
