"""The isolation harness: proves that a multi-tenant agent backend keeps its users apart.

Importing ``harness`` starts, patches and prints nothing, and loads nothing but this module: the
names below are the public API, each imported from its module on first use. Subpackages
(``harness.scheduling``, ``harness.detectors``, ``harness.reporting``, ``harness.targets``,
``harness.runner``) have their own; docs/architecture.md draws the layout.

Example:
    >>> from harness import build_scenario, run
    >>> result = run("reference", build_scenario("golden_path", seed=0, users=4))
    >>> result.findings
    ()
"""

from __future__ import annotations

import importlib as _importlib
import typing as _typing
from collections.abc import Sequence as _Sequence

__version__ = "0.1.0"

#: Public name -> the module that defines it. Imported on first use (PEP 562), so that
#: ``import harness.model`` (a leaf record module) loads no runner, walker or detector.
_LAZY = {
    "run": "harness.runner",
    "load_target": "harness.targets",
    "event_from_message": "harness.targets",
    "Target": "harness.contract",
    "Session": "harness.contract",
    **{
        name: "harness.model"
        for name in (
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
        )
    },
    **{
        name: "harness.errors"
        for name in (
            "HarnessError",
            "UsageError",
            "UnknownScenarioError",
            "TargetError",
            "TargetLoadError",
            "TargetAuthError",
            "ScenarioError",
            "FindingsFileError",
            "ProtocolError",
        )
    },
}

if _typing.TYPE_CHECKING:  # what the lazy names are, for type checkers and editors
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
    from harness.targets import event_from_message as event_from_message
    from harness.targets import load_target as load_target


def __getattr__(name: str) -> _typing.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


def build_scenario(
    name: str, seed: int, users: int | _Sequence[SimUser], *, salt: str = ""
) -> Scenario:
    """Build the named scenario: :func:`harness.scenarios.build`, reachable from ``harness``."""
    from harness.scenarios import build

    return build(name, seed, users, salt=salt)


__all__ = [
    # running
    "run",
    "build_scenario",
    "load_target",
    "event_from_message",
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
