"""Who each Locust user is: a pure function of the run's parameters, worker index and sequence."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest

import harness.distributed
from harness.distributed import Population, PopulationSpec
from harness.errors import UsageError
from harness.scenarios import build


def test_a_slot_is_user_of_the_block_scenario_that_harness_run_builds() -> None:
    spec = PopulationSpec("multi_tab", seed=3, salt="rc1", block=4)
    slot = Population(spec).slot(worker=1, sequence=6)
    assert (slot.block, slot.index, slot.salt) == (1, 2, "rc1-w1-b1")
    # The same users, turns and canaries as `harness run --users 4 --seed 3 --salt rc1-w1-b1`.
    same = build("multi_tab", 3, 4, salt="rc1-w1-b1")
    assert slot.user == same.users[2]
    assert slot.plans == tuple(p for p in same.sessions if p.user_id == slot.user.user_id)
    assert slot.plans, "multi_tab gives every user at least one tab"
    assert slot.prefix == "w1.b1."


def test_the_population_is_known_from_the_parameters_alone() -> None:
    spec = PopulationSpec("golden_path", seed=0, salt="s", block=3)
    first = [Population(spec).slot(w, n) for w in range(2) for n in range(7)]
    again = [Population(spec).slot(w, n) for w in range(2) for n in range(7)]
    assert first == again
    ids = [slot.user.user_id for slot in first]
    assert len(set(ids)) == len(ids), "no two workers or blocks share a user"
    runs = [t.run_id for slot in first for p in slot.plans for t in p.turns]
    assert len(set(runs)) == len(runs)


def test_the_salt_and_seed_change_every_identity() -> None:
    base = Population(PopulationSpec("golden_path", seed=0, salt="a")).slot(0, 0).user
    assert Population(PopulationSpec("golden_path", seed=0, salt="b")).slot(0, 0).user != base
    assert Population(PopulationSpec("golden_path", seed=1, salt="a")).slot(0, 0).user != base


def test_turn_timeout_overrides_the_scenario() -> None:
    slot = Population(PopulationSpec("golden_path", seed=0, turn_timeout=2.5)).slot(0, 0)
    assert slot.turn_timeout == 2.5
    assert Population(PopulationSpec("golden_path", seed=0)).slot(0, 0).turn_timeout == 30.0


def test_replay_commands_name_the_block_and_the_population() -> None:
    spec = PopulationSpec("burst", seed=7, salt="rc1", block=5, turn_timeout=3.0)
    block = spec.block_replay(1, 2, "ws://127.0.0.1:9/ws")
    assert block == (
        "harness run --target ws://127.0.0.1:9/ws --scenario burst --users 5 --seed 7 "
        "--strategy random --salt rc1-w1-b2"
    )
    whole = spec.locust_replay([(1, 8), (0, 9)], "locustfile.py", "ws://127.0.0.1:9/ws")
    for part in ("-u=17", "--expect-workers=2", "--harness-scenario=burst", "--harness-seed=7"):
        assert part in whole
    assert "--harness-salt=rc1" in whole and "--harness-block=5" in whole
    assert whole.endswith("# users per worker w0:9,w1:8")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"block": 0}, "block=0 (type int) must be an int >= 1"),
        ({"block": True}, "block=True (type bool) must be an int >= 1"),
        ({"turn_timeout": 0.0}, "turn_timeout=0.0 must be a number of seconds > 0"),
    ],
)
def test_bad_parameters_are_refused_with_the_remedy(
    options: dict[str, object], message: str
) -> None:
    with pytest.raises(UsageError) as refused:
        PopulationSpec("golden_path", seed=0, **options)  # type: ignore[arg-type]
    assert message in str(refused.value)
    assert "--harness-" in str(refused.value)


def test_a_negative_worker_index_is_refused() -> None:
    with pytest.raises(UsageError, match=r"worker=-1, sequence=0: both must be >= 0"):
        Population(PopulationSpec("golden_path", seed=0)).slot(-1, 0)


def test_an_unknown_scenario_names_the_known_ones() -> None:
    with pytest.raises(UsageError, match=r"golden_pat.*Did you mean"):
        Population(PopulationSpec("golden_pat", seed=0)).slot(0, 0)


def test_all_is_exactly_the_public_names() -> None:
    module = harness.distributed
    eager = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and name != "annotations"
        and not isinstance(value, types.ModuleType)
    }
    # HarnessUser is loaded on first use (it imports Locust): listed, never imported here.
    assert "HarnessUser" not in eager
    assert sorted(module.__all__) == sorted(eager | {"HarnessUser"})
    with pytest.raises(AttributeError, match="has no attribute 'HarnessUsr'"):
        _ = module.HarnessUsr  # type: ignore[attr-defined]


def test_importing_the_package_does_not_import_locust() -> None:
    """Locust monkey-patches the process for gevent: only a locustfile may pay for that."""
    code = (
        "import sys, harness.distributed;"
        "assert 'locust' not in sys.modules and 'gevent' not in sys.modules, sorted(sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""
