"""Named scenario generators, a registry of them and Hypothesis strategies for arbitrary ones.

A generator is a function ``(rng: random.Random, users: Sequence[SimUser]) -> Scenario`` that
takes every choice from ``rng``. :func:`build` runs one by name for a seed::

    >>> from scenarios import build, validate
    >>> scenario = build("multi_tab", seed=3, users=4)
    >>> validate(scenario)

See docs/scenarios.md for what each scenario pressures and how to add one.
"""

from __future__ import annotations

from scenarios._building import ScenarioBuilder as ScenarioBuilder
from scenarios._building import plan_duration as plan_duration
from scenarios._everyday import burst as burst
from scenarios._everyday import golden_path as golden_path
from scenarios._everyday import soak as soak
from scenarios._intrusion import intrusion as intrusion
from scenarios._pressure import limit_pressure as limit_pressure
from scenarios._pressure import noisy_neighbor as noisy_neighbor
from scenarios._pressure import tool_failure as tool_failure
from scenarios._registry import DEFAULT_SCENARIOS as DEFAULT_SCENARIOS
from scenarios._registry import SCENARIOS as SCENARIOS
from scenarios._registry import ScenarioGenerator as ScenarioGenerator
from scenarios._registry import build as build
from scenarios._registry import get_generator as get_generator
from scenarios._registry import scenario_names as scenario_names
from scenarios._tabs import cancel as cancel
from scenarios._tabs import multi_tab as multi_tab
from scenarios._tabs import reconnect as reconnect
from scenarios._tabs import tab_burst as tab_burst
from scenarios._validation import validate as validate

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
    "soak",
    "tab_burst",
    "tool_failure",
]
