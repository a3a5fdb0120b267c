from __future__ import annotations

import random
import subprocess
import sys

import pytest

import harness
import harness.scenarios
from harness.errors import UnknownScenarioError, UsageError
from harness.model import Scenario
from harness.scenarios import DEFAULT_SCENARIOS, SCENARIOS, build, get_generator, scenario_names
from harness.users import UserFactory

EXPECTED = (
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
)


def test_all_lists_the_public_names() -> None:
    # "@py..." names come from pytest's assertion rewriting of the installed package.
    public = {name for name in vars(harness.scenarios) if not name.startswith(("_", "@"))}
    modules = {"annotations", "strategies"}
    assert set(harness.scenarios.__all__) == public - modules


def test_registry_is_ordered_by_name_and_read_only() -> None:
    assert scenario_names() == EXPECTED
    assert tuple(SCENARIOS) == EXPECTED
    with pytest.raises(TypeError):
        SCENARIOS["extra"] = SCENARIOS["burst"]  # type: ignore[index]


def test_default_scenarios_are_registered() -> None:
    assert set(DEFAULT_SCENARIOS) <= set(SCENARIOS)
    assert DEFAULT_SCENARIOS == (
        "golden_path",
        "burst",
        "multi_tab",
        "limit_pressure",
        "tool_failure",
    )


def test_get_generator_returns_the_function() -> None:
    assert get_generator("multi_tab") is harness.scenarios.multi_tab


def test_unknown_scenario_lists_names_and_suggests() -> None:
    with pytest.raises(UnknownScenarioError) as info:
        get_generator("multitab")
    message = str(info.value)
    assert "scenario='multitab'" in message
    assert "Did you mean 'multi_tab'?" in message
    for name in EXPECTED:
        assert name in message


def test_unknown_scenario_without_close_name_has_no_suggestion() -> None:
    with pytest.raises(UnknownScenarioError) as info:
        build("zzzz", 1, 2)
    assert "Did you mean" not in str(info.value)
    assert "golden_path" in str(info.value)


@pytest.mark.parametrize("name", EXPECTED)
def test_same_seed_equal_scenario_different_seed_differs(name: str) -> None:
    first = build(name, 11, 4)
    assert first == build(name, 11, 4)
    assert first != build(name, 12, 4)
    assert first.seed == 11
    assert first.name == name
    assert isinstance(first, Scenario)


def test_build_with_given_users_uses_them() -> None:
    people = UserFactory(random.Random(0)).users(3)
    scenario = build("golden_path", 5, people)
    assert scenario.users == people
    assert {s.user_id for s in scenario.sessions} == {u.user_id for u in people}


def test_build_with_a_count_makes_users_from_the_seed() -> None:
    scenario = build("burst", 8, 3)
    assert scenario.users == UserFactory(random.Random("burst/8/")).users(3)


def test_scenarios_of_one_seed_do_not_share_ids() -> None:
    first, second = build("burst", 8, 3), build("golden_path", 8, 3)
    assert not {u.user_id for u in first.users} & {u.user_id for u in second.users}


def test_a_salt_gives_fresh_ids_and_is_recorded() -> None:
    plain, salted = build("burst", 8, 3), build("burst", 8, 3, salt="a1b2")
    assert salted.salt == "a1b2"
    assert not {u.user_id for u in plain.users} & {u.user_id for u in salted.users}
    assert build("burst", 8, 3, salt="a1b2") == salted


@pytest.mark.parametrize("users", [0, -1, True])
def test_build_rejects_bad_user_counts(users: int) -> None:
    with pytest.raises(UsageError, match=f"users={users!r}"):
        build("burst", 1, users)


def test_build_rejects_a_non_int_seed() -> None:
    with pytest.raises(UsageError, match=r"seed='7' \(type str\)"):
        build("burst", "7", 2)  # type: ignore[arg-type]


def test_empty_user_sequence_is_a_scenario_error() -> None:
    from harness.errors import ScenarioError

    with pytest.raises(ScenarioError, match="scenario 'soak'\nusers=\\(\\) is empty"):
        build("soak", 1, ())


@pytest.mark.parametrize(
    "statement",
    [
        "from harness.scenarios import build, validate, scenario_names",
        "import harness.scenarios.strategies",
        "import harness.scenarios, harness",
        "import harness, harness.scenarios",
    ],
)
def test_importing_scenarios_first_works(statement: str) -> None:
    # docs/scenarios.md starts with ``from harness.scenarios import build``: in a fresh interpreter
    # that imports harness, whose __init__ re-exports harness.scenarios.build (a circular import).
    code = (
        f"{statement}\nimport harness.scenarios\n"
        "assert harness.scenarios.build('golden_path', 1, 2).users"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
