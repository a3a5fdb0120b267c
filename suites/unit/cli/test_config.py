"""[tool.harness] and HARNESS_* as option defaults: types checked, env over file."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli._config import load_config
from harness.errors import UsageError
from harness.settings import find_pyproject

pytestmark = pytest.mark.unit


def _project(tmp_path: Path, table: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(f"[tool.harness]\n{table}")
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    return nested


def test_values_are_read_from_the_nearest_pyproject_upwards(tmp_path: Path) -> None:
    start = _project(
        tmp_path,
        'target = "pkg:T"\nusers = 5\nseeds = 3\nturn_timeout = 12\ncall_timeout = "4.5"\n'
        'report = "out"\nstrict = true\n[tool.harness.audit]\nallow = []\n',
    )
    assert find_pyproject(start) == tmp_path / "pyproject.toml"
    assert load_config(start, environ={}) == {
        "target": "pkg:T",
        "users": 5,
        "config_seeds": "3..3",
        "turn_timeout": 12.0,
        "call_timeout": 4.5,
        "report": Path("out"),
    }


def test_the_environment_overrides_the_file(tmp_path: Path) -> None:
    start = _project(tmp_path, "users = 5\n")
    got = load_config(start, environ={"HARNESS_USERS": "9", "HARNESS_BLOCK_LIMIT": "0.5"})
    assert got == {"users": 9, "block_limit": 0.5}


def test_a_pyproject_without_tool_harness_is_no_config(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert load_config(tmp_path, environ={"HARNESS_STAGING_URL": "ws://x"}) == {}


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("users = 0\n", "users = 0 (int) must be an integer >= 1"),
        ('turn_timeout = "soon"\n', "turn_timeout = 'soon' (str) must be a number of seconds > 0"),
        ("call_timeout = -1\n", "call_timeout = -1 (int) must be a number of seconds > 0"),
        ("strategy = 3\n", "strategy = 3 (int) must be a non-empty string"),
        ("timeout = 3\n", "unknown key 'timeout'"),
    ],
)
def test_a_bad_value_names_the_file_the_key_and_what_is_expected(
    tmp_path: Path, table: str, message: str
) -> None:
    start = _project(tmp_path, table)
    with pytest.raises(UsageError, match=r"pyproject\.toml") as raised:
        load_config(start, environ={})
    assert message in str(raised.value)


def test_a_bad_variable_names_it(tmp_path: Path) -> None:
    start = _project(tmp_path, "")
    with pytest.raises(UsageError) as raised:
        load_config(start, environ={"HARNESS_USERS": "many"})
    assert "environment variable HARNESS_USERS = 'many' (str) must be an integer >= 1" in str(
        raised.value
    )
