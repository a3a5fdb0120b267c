"""Named scenario generators, a registry of them and Hypothesis strategies for arbitrary ones.

A generator is a function ``(rng: random.Random, users: Sequence[SimUser]) -> Scenario`` that
takes every choice from ``rng``. :func:`build` runs one by name for a seed::

    >>> from harness.scenarios import build, validate
    >>> scenario = build("multi_tab", seed=3, users=4)
    >>> validate(scenario)

See docs/scenarios.md for what each scenario pressures and how to add one.
"""

from __future__ import annotations

from harness.scenarios._building import ScenarioBuilder as ScenarioBuilder
from harness.scenarios._building import plan_duration as plan_duration
from harness.scenarios._everyday import burst as burst
from harness.scenarios._everyday import golden_path as golden_path
from harness.scenarios._everyday import soak as soak
from harness.scenarios._intrusion import intrusion as intrusion
from harness.scenarios._pressure import limit_pressure as limit_pressure
from harness.scenarios._pressure import noisy_neighbor as noisy_neighbor
from harness.scenarios._pressure import tool_failure as tool_failure
from harness.scenarios._registry import DEFAULT_SCENARIOS as DEFAULT_SCENARIOS
from harness.scenarios._registry import SCENARIOS as SCENARIOS
from harness.scenarios._registry import ScenarioGenerator as ScenarioGenerator
from harness.scenarios._registry import build as build
from harness.scenarios._registry import get_generator as get_generator
from harness.scenarios._registry import scenario_names as scenario_names
from harness.scenarios._retries import resume as resume
from harness.scenarios._retries import retry as retry
from harness.scenarios._tabs import cancel as cancel
from harness.scenarios._tabs import multi_tab as multi_tab
from harness.scenarios._tabs import reconnect as reconnect
from harness.scenarios._tabs import tab_burst as tab_burst
from harness.scenarios._validation import validate as validate

__all__ = [
    "SCENARIOS",
    "DEFAULT_SCENARIOS",
    "ScenarioGenerator",
    "build",
    "get_generator",
    "scenario_names",
    "validate",
    "ScenarioBuilder",
    "plan_duration",
    "burst",
    "cancel",
    "golden_path",
    "intrusion",
    "limit_pressure",
    "multi_tab",
    "noisy_neighbor",
    "reconnect",
    "resume",
    "retry",
    "soak",
    "tab_burst",
    "tool_failure",
]
