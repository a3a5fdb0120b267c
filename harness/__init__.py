"""The isolation harness: proves that a multi-tenant agent backend keeps its users apart.

Importing ``harness`` starts, patches and prints nothing. The names below are the public API;
subpackages (``harness.scheduling``, ``harness.detectors``, ``harness.reporting``) have their own.

Example:
    >>> from harness import build_scenario, run
    >>> result = run("reference", build_scenario("golden_path", seed=0, users=4))
    >>> result.findings
    ()
"""

from __future__ import annotations

from collections.abc import Sequence as _Sequence

from harness.contract import Session as Session
from harness.contract import Target as Target
from harness.errors import FindingsFileError as FindingsFileError
from harness.errors import HarnessError as HarnessError
from harness.errors import ProtocolError as ProtocolError
from harness.errors import ScenarioError as ScenarioError
from harness.errors import TargetAuthError as TargetAuthError
from harness.errors import TargetError as TargetError
from harness.errors import TargetLoadError as TargetLoadError
from harness.errors import UnknownScenarioError as UnknownScenarioError
from harness.errors import UsageError as UsageError
from harness.model import CallTool as CallTool
from harness.model import Event as Event
from harness.model import Fail as Fail
from harness.model import Finding as Finding
from harness.model import Pause as Pause
from harness.model import RunResult as RunResult
from harness.model import Scenario as Scenario
from harness.model import SessionPlan as SessionPlan
from harness.model import SimUser as SimUser
from harness.model import Think as Think
from harness.model import Trace as Trace
from harness.model import Turn as Turn
from harness.model import TurnOutcome as TurnOutcome
from harness.runner import run as run
from harness.targets import load_target as load_target

__version__ = "0.1.0"


def build_scenario(
    name: str, seed: int, users: int | _Sequence[SimUser], *, salt: str = ""
) -> Scenario:
    """Build the named scenario: :func:`harness.scenarios.build`, reachable from ``harness``.

    Imported when called, not with ``harness``: the scenario generators import ``harness``'s
    modules, so ``import scenarios`` first and ``import harness`` first must both work.
    """
    from harness.scenarios import build

    return build(name, seed, users, salt=salt)


__all__ = [
    # running
    "run",
    "build_scenario",
    "load_target",
    # the Target contract
    "Target",
    "Session",
    # records
    "SimUser",
    "Turn",
    "Think",
    "CallTool",
    "Pause",
    "Fail",
    "Event",
    "TurnOutcome",
    "Scenario",
    "SessionPlan",
    "Trace",
    "Finding",
    "RunResult",
    # errors
    "HarnessError",
    "UsageError",
    "UnknownScenarioError",
    "TargetError",
    "TargetLoadError",
    "TargetAuthError",
    "ScenarioError",
    "FindingsFileError",
    "ProtocolError",
]
