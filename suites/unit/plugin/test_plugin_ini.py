"""The plugin's settings are real ini options: ``harness_target = ...`` in pytest.ini is used,
never silently ignored (which would test ``reference`` instead: a false green)."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.unit, pytest.mark.timeout(120)]

HEADER_TEST = """
def test_plain():
    assert True
"""


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    # In process (a subprocess per test cost 1.5 s of interpreter start); the entry point loads
    # the plugin there too. The loop scope is set as a project using pytest-asyncio sets it.
    options = ("-p", "no:cacheprovider", "-o", "asyncio_default_fixture_loop_scope=function")
    return pytester.runpytest_inprocess(*options, *args)


def test_help_describes_every_harness_option_and_its_ini_setting(
    pytester: pytest.Pytester,
) -> None:
    result = _run(pytester, "--help")
    for option, ini in [
        ("--harness-target", "harness_target"),
        ("--harness-users", "harness_users"),
        ("--harness-seed", "harness_seed"),
        ("--harness-strategy", "harness_strategy"),
        ("--harness-report", "harness_report"),
        ("--staging-url", "harness_staging_url"),
    ]:
        result.stdout.fnmatch_lines([f"*{option}*", f"*{ini} (string)*"])


def test_an_ini_target_is_used(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nharness_target = nosuchmodule_xyz:Target\nharness_users = 7\n")
    pytester.makepyfile(HEADER_TEST)
    result = _run(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--harness-target='nosuchmodule_xyz:Target' cannot be loaded*"])


def test_ini_settings_show_in_the_header_and_the_command_line_wins(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini("[pytest]\nharness_users = 7\nharness_strategy = fifo\n")
    pytester.makepyfile(HEADER_TEST)
    result = _run(pytester, "--harness-users=3")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["harness: target=reference users=3 seed=0 strategy=fifo"])


def test_without_ini_settings_the_defaults_hold(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(HEADER_TEST)
    result = _run(pytester)
    assert result.ret == 0
    result.stdout.fnmatch_lines(["harness: target=reference users=20 seed=0 strategy=random"])
