"""``[tool.harness]`` in pyproject.toml: read, checked, and wrong values named."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import UsageError
from harness.settings import ProjectSettings, load_settings


def _project(tmp_path: Path, text: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(text, encoding="utf-8")
    return tmp_path


def test_no_file_or_no_table_gives_the_defaults(tmp_path: Path) -> None:
    assert load_settings(tmp_path) == ProjectSettings()
    _project(tmp_path, '[project]\nname = "x"\n[tool.other]\nstrict = true\n')
    assert load_settings(tmp_path).strict is False


def test_strict_true_is_read_with_its_source(tmp_path: Path) -> None:
    _project(tmp_path, "[tool.harness]\nstrict = true\n")
    settings = load_settings(tmp_path)
    assert settings.strict is True
    assert settings.source == str(tmp_path / "pyproject.toml")


def test_the_current_directory_is_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(tmp_path, "[tool.harness]\nstrict = true\n")
    monkeypatch.chdir(tmp_path)
    assert load_settings().strict is True


def test_a_strict_that_is_not_a_boolean_is_refused(tmp_path: Path) -> None:
    _project(tmp_path, '[tool.harness]\nstrict = "yes"\n')
    with pytest.raises(UsageError, match=r"strict='yes' \(type str\).*should be a boolean"):
        load_settings(tmp_path)


def test_an_unknown_key_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    _project(tmp_path, "[tool.harness]\nstrikt = true\n")
    with pytest.raises(UsageError, match=r"unknown key 'strikt'.*Did you mean 'strict'"):
        load_settings(tmp_path)


def test_keys_far_from_any_known_key_are_left_for_newer_settings(tmp_path: Path) -> None:
    _project(tmp_path, '[tool.harness]\ntrace = "failing"\nstrict = true\n')
    assert load_settings(tmp_path).strict is True


def test_invalid_toml_is_a_usage_error(tmp_path: Path) -> None:
    _project(tmp_path, "[tool.harness\nstrict = true\n")
    with pytest.raises(UsageError, match="is not valid TOML"):
        load_settings(tmp_path)


def test_a_harness_key_that_is_not_a_table_is_refused(tmp_path: Path) -> None:
    _project(tmp_path, "[tool]\nharness = 1\n")
    with pytest.raises(UsageError, match=r"is a value of type int, not a table"):
        load_settings(tmp_path)
