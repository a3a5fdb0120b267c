"""Hazards in the pytest helpers: assert_isolated(strict=...), --harness-strict, JUnit counts."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from dataclasses import replace

import pytest

from harness.model import Finding, RunResult
from harness.runner import run
from harness.scenarios import build
from harness.testing import IsolationFailure, assert_isolated, strict_by_default


@pytest.fixture(scope="module")
def clean() -> RunResult:
    return run("reference", build("golden_path", seed=1, users=3), strategy="fifo")


HAZARD = Finding(
    kind="shared-state",
    users=("usr_aaaaaaaaaaaa", "usr_bbbbbbbbbbbb"),
    summary="one dict object is reachable from the roots of both at once",
    severity="hazard",
)
LEAK = replace(HAZARD, kind="foreign-data", summary="a canary crossed", severity="leak")


def test_a_hazard_alone_passes_unless_strict(clean: RunResult) -> None:
    hazardous = replace(clean, findings=(HAZARD,))
    assert_isolated(hazardous)
    with pytest.raises(IsolationFailure, match=r"shared-state  users: .*  severity: hazard"):
        assert_isolated(hazardous, strict=True)


def test_a_leak_fails_whatever_the_switch(clean: RunResult) -> None:
    leaky = replace(clean, findings=(HAZARD, LEAK))
    with pytest.raises(IsolationFailure) as failure:
        assert_isolated(leaky, strict=False)
    text = str(failure.value)
    assert "foreign-data  users: usr_aaaaaaaaaaaa, usr_bbbbbbbbbbbb  severity: leak" in text
    assert "severity: hazard" not in text  # the hazard did not fail this test


def test_strict_by_default_sets_the_default_and_an_explicit_value_wins(clean: RunResult) -> None:
    hazardous = replace(clean, findings=(HAZARD,))
    with strict_by_default(True):
        with pytest.raises(IsolationFailure):
            assert_isolated(hazardous)
        assert_isolated(hazardous, strict=False)
    assert_isolated(hazardous)  # restored on leaving the block


# ----------------------------------------------------------------------------- the plugin

TESTS = """
from dataclasses import replace

from harness.model import Finding
from harness.testing import assert_isolated


def test_only_a_hazard(run_scenario):
    result = run_scenario("golden_path", users=2)
    hazard = Finding(kind="shared-state", users=("u1", "u2"), summary="s", severity="hazard")
    assert_isolated(replace(result, findings=(hazard,)))


def test_a_fault(run_scenario):
    run_scenario("burst", users=4, fault="shared-engine")
"""


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    # In process (a subprocess per test cost 1.5 s of interpreter start); the entry point loads
    # the plugin there too. The loop scope is set as a project using pytest-asyncio sets it.
    options = ("-p", "no:cacheprovider", "-o", "asyncio_default_fixture_loop_scope=function")
    return pytester.runpytest_inprocess(*options, *args)


def test_harness_strict_makes_hazards_fail(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_runs=TESTS)
    _run(pytester).assert_outcomes(passed=2)
    strict = _run(pytester, "--harness-strict")
    strict.assert_outcomes(passed=1, failed=1)
    strict.stdout.fnmatch_lines(["*shared-state  users: u1, u2  severity: hazard*"])


def test_tool_harness_strict_in_pyproject_makes_hazards_fail(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_runs=TESTS)
    pytester.makepyprojecttoml("[tool.harness]\nstrict = true\n")
    _run(pytester).assert_outcomes(passed=1, failed=1)


def test_a_bad_tool_harness_table_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_runs=TESTS)
    pytester.makepyprojecttoml('[tool.harness]\nstrict = "on"\n')
    result = _run(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*strict='on' (type str)*should be a boolean*"])


def test_junit_properties_count_leaks_and_hazards(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_runs=TESTS)
    _run(pytester, "--junitxml=out.xml")
    for case in ElementTree.parse(pytester.path / "out.xml").iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        findings, leaks, hazards = (int(str(props[k])) for k in ("findings", "leaks", "hazards"))
        assert leaks + hazards == findings
        if case.get("name") == "test_a_fault":
            assert leaks > 0
        else:
            assert (findings, leaks, hazards) == (0, 0, 0)  # counted before the test's own edit
