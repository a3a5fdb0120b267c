"""The registry of named scenario generators and :func:`build`, which runs one by name."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import TypeAlias

from harness.errors import UnknownScenarioError, UsageError, did_you_mean
from harness.model import Scenario, SimUser
from harness.scenarios._everyday import burst, golden_path, soak
from harness.scenarios._intrusion import intrusion
from harness.scenarios._pressure import limit_pressure, noisy_neighbor, tool_failure
from harness.scenarios._retries import resume, retry
from harness.scenarios._tabs import cancel, multi_tab, reconnect, tab_burst
from harness.users import UserFactory

__all__ = [
    "DEFAULT_SCENARIOS",
    "SCENARIOS",
    "ScenarioGenerator",
    "build",
    "get_generator",
    "scenario_names",
]

#: A scenario generator: every choice from the rng, every user from the sequence.
ScenarioGenerator: TypeAlias = Callable[[random.Random, Sequence[SimUser]], Scenario]

_GENERATORS: tuple[ScenarioGenerator, ...] = (
    burst,
    cancel,
    golden_path,
    intrusion,
    limit_pressure,
    multi_tab,
    noisy_neighbor,
    reconnect,
    resume,
    retry,
    soak,
    tab_burst,
    tool_failure,
)

#: Every built-in generator by name, ordered by name. Read-only.
SCENARIOS: Mapping[str, ScenarioGenerator] = MappingProxyType(
    {generator.__name__: generator for generator in sorted(_GENERATORS, key=lambda g: g.__name__)}
)

#: What ``harness run`` runs with no ``--scenario``: together they touch every detector.
DEFAULT_SCENARIOS: tuple[str, ...] = (
    "golden_path",
    "burst",
    "multi_tab",
    "limit_pressure",
    "tool_failure",
)


def scenario_names() -> tuple[str, ...]:
    """The registered scenario names, sorted."""
    return tuple(SCENARIOS)


def get_generator(name: str) -> ScenarioGenerator:
    """The generator registered as ``name``.

    Raises:
        UnknownScenarioError: no scenario has that name; the message lists the known names.
    """
    generator = SCENARIOS.get(name) if isinstance(name, str) else None
    if generator is None:
        hint = did_you_mean(name, SCENARIOS) if isinstance(name, str) else ""
        raise UnknownScenarioError(
            f"scenario={name!r} is not a known scenario.{hint} "
            f"Known scenarios: {', '.join(SCENARIOS)}. Use one of them, or 'all'."
        )
    return generator


def build(name: str, seed: int, users: int | Sequence[SimUser], *, salt: str = "") -> Scenario:
    """Build the scenario ``name`` for ``seed``: the same arguments always give an equal result.

    Args:
        name: a registered scenario name (see :func:`scenario_names`).
        seed: seeds ``random.Random``, which makes the users (when ``users`` is a count) and then
            every choice of the generator. The Scenario's ``seed`` field is set to it.
        users: how many users to make with :class:`~harness.users.UserFactory`, or the users.
        salt: mixed into the seed so that runs against a server that outlives them (a staging
            deployment remembers every thread and run id it saw) get fresh ids; recorded in the
            Scenario so the run can be rebuilt.

    Raises:
        UnknownScenarioError: ``name`` is not registered.
        UsageError: ``seed`` is not an int or ``users`` is a count below 1.

    Example:
        >>> scenario = build("golden_path", 7, 3)
        >>> (scenario.name, scenario.seed, len(scenario.users))
        ('golden_path', 7, 3)
    """
    generator = get_generator(name)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise UsageError(
            f"seed={seed!r} (type {type(seed).__name__}) must be an int. Pass e.g. --seed 7."
        )
    # Seeded by name too: two scenarios of one seed must not reuse each other's ids, or a
    # server that outlives a run would see one run's users and runs again in the next.
    rng = random.Random(f"{name}/{seed}/{salt}")
    if isinstance(users, bool) or (isinstance(users, int) and users < 1):
        raise UsageError(
            f"users={users!r} must be a count >= 1 or a sequence of SimUser. "
            "Pass e.g. --users 4 (the multi-user detectors need >= 2)."
        )
    people = UserFactory(rng).users(users) if isinstance(users, int) else tuple(users)
    return dataclasses.replace(generator(rng, people), seed=seed, salt=salt)
