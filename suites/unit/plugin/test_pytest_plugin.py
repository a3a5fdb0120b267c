"""The pytest plugin end to end, through ``pytester`` (in process: the entry point loads it there
too, and a subprocess per test cost 1.5 s of interpreter start each)."""

from __future__ import annotations

import shlex
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from harness.pytest_plugin import report_dirname
from harness.runner import run
from harness.scenarios import build
from harness.testing import derive_seed

TESTS = """
from harness.testing import assert_isolated

def test_isolated(run_scenario):
    assert_isolated(run_scenario("golden_path", users=4))

def test_leaky(run_scenario):
    assert_isolated(run_scenario("golden_path", users=4, fault="shared-engine"))

def test_plain():
    assert True
"""


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    # In process (a subprocess per test cost 1.5 s of interpreter start); the entry point loads
    # the plugin there too. The loop scope is set as a project using pytest-asyncio sets it.
    options = ("-p", "no:cacheprovider", "-o", "asyncio_default_fixture_loop_scope=function")
    return pytester.runpytest_inprocess(*options, *args)


def _properties(path: Path) -> dict[str, dict[str, list[str]]]:
    """``{test name: {property: [values]}}`` from a JUnit XML file."""
    tree = ElementTree.parse(path)
    cases: dict[str, dict[str, list[str]]] = {}
    for case in tree.iter("testcase"):
        found: dict[str, list[str]] = {}
        for prop in case.iter("property"):
            found.setdefault(prop.get("name", ""), []).append(prop.get("value", ""))
        cases[case.get("name", "")] = found
    return cases


def test_options_are_registered_in_the_harness_group(pytester: pytest.Pytester) -> None:
    result = _run(pytester, "--help")
    result.stdout.fnmatch_lines(["isolation harness:"])
    for option in (
        "--harness-target*",
        "--harness-users*",
        "--harness-seed*",
        "--harness-strategy*",
        "--harness-report*",
        "--staging-url*",
    ):
        result.stdout.fnmatch_lines([f"*{option}"])
    # --harness-report writes three files; the help names each (as docs/pytest.md does).
    assert "findings.json, trace.json and report.html" in " ".join(result.stdout.str().split())


def test_harness_marker_is_registered_with_its_signature(pytester: pytest.Pytester) -> None:
    result = _run(pytester, "--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.harness(scope='function'): *"])


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--harness-users=0"], "*--harness-users='0' must be an integer >= 1*"),
        (["--harness-users=many"], "*--harness-users='many' must be an integer >= 1*"),
        (["--harness-seed=-3"], "*--harness-seed='-3' must be an integer >= 0*"),
        (["--harness-strategy=randon"], "*--harness-strategy='randon'*Did you mean 'random'?*"),
        (["--harness-strategy=fast"], "*--harness-strategy='fast' is not a strategy*fifo, random*"),
        (["--staging-url=http://x:1"], "*--staging-url='http://x:1' is not a WebSocket URL*"),
        (["--harness-target=nosuch_mod:T"], "*--harness-target='nosuch_mod:T' cannot be loaded*"),
        (["--harness-target=ftp://x"], "*--harness-target='ftp://x'*TargetLoadError*"),
    ],
)
def test_bad_values_are_usage_errors(
    pytester: pytest.Pytester, args: list[str], expected: str
) -> None:
    pytester.makepyfile(TESTS)
    result = _run(pytester, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([expected])


def test_staging_url_from_the_environment_is_checked(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARNESS_STAGING_URL", "localhost:8765")
    result = _run(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*HARNESS_STAGING_URL='localhost:8765' is not a WebSocket URL*"])


def test_isolated_passes_and_leaky_fails_with_kind_and_replay(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_runs=TESTS)
    result = _run(pytester, "-rf")
    result.assert_outcomes(passed=2, failed=1)
    seed = derive_seed(0, "test_runs.py::test_leaky")
    result.stdout.fnmatch_lines(
        [
            "*isolation finding(s) in scenario='golden_path' seed=*",
            "*kinds: *context-mismatch*",
            "*docs: docs/findings.md#*",
            "*replay the run: harness run --scenario golden_path --users 4 "
            f"--seed {seed} --strategy random --fault shared-engine",
            "FAILED test_runs.py::test_leaky - harness.testing.IsolationFailure*",
        ]
    )
    # The failure points at the test, not inside the helper.
    assert "def assert_isolated" not in result.stdout.str()


def test_tests_using_run_scenario_are_marked_harness(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_runs=TESTS)
    result = _run(pytester, "-m", "harness", "--collect-only", "-q")
    result.stdout.fnmatch_lines(["test_runs.py::test_isolated", "test_runs.py::test_leaky"])
    assert "test_plain" not in result.stdout.str()


def test_junit_xml_carries_seed_strategy_and_replay(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_runs=TESTS)
    _run(pytester, "--junitxml=out.xml", "--harness-seed=7", "--harness-strategy=fifo")
    cases = _properties(pytester.path / "out.xml")
    for name in ("test_isolated", "test_leaky"):
        seed = derive_seed(7, f"test_runs.py::{name}")
        props = cases[name]
        assert props["seed"] == [str(seed)]
        assert props["strategy"] == ["fifo"]
        assert props["replay"][0].startswith("harness run --scenario golden_path --users 4 ")
        assert f"--seed {seed} --strategy fifo" in props["replay"][0]
    assert cases["test_leaky"]["replay"][0].endswith("--fault shared-engine")
    assert int(cases["test_leaky"]["findings"][0]) > 0
    assert cases["test_isolated"]["findings"] == ["0"]
    assert cases["test_plain"] == {}


def test_xdist_workers_record_the_same_seeds_as_one_process(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_runs=TESTS)
    _run(pytester, "--junitxml=single.xml", "--harness-seed=11")
    distributed = _run(pytester, "-n", "2", "--junitxml=xdist.xml", "--harness-seed=11")
    distributed.stdout.fnmatch_lines(["*2 workers*"])
    single = _properties(pytester.path / "single.xml")
    spread = _properties(pytester.path / "xdist.xml")
    for name in ("test_isolated", "test_leaky"):
        assert spread[name]["seed"] == single[name]["seed"]
        assert spread[name]["seed"] == [str(derive_seed(11, f"test_runs.py::{name}"))]
        assert spread[name]["replay"] == single[name]["replay"]
        assert spread[name]["findings"] == single[name]["findings"]


def test_recorded_replay_reproduces_the_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_runs=TESTS)
    _run(pytester, "--junitxml=out.xml")
    props = _properties(pytester.path / "out.xml")["test_leaky"]
    words = shlex.split(props["replay"][0])
    assert words[:2] == ["harness", "run"]
    options = dict(zip(words[2::2], words[3::2], strict=True))
    scenario = build(options["--scenario"], int(options["--seed"]), int(options["--users"]))
    replayed = run("reference", scenario, strategy=options["--strategy"], fault=options["--fault"])
    assert str(len(replayed.findings)) == props["findings"][0]
    assert replayed.replay == props["replay"][0]


def test_report_option_writes_one_directory_per_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_runs=TESTS)
    _run(pytester, "--harness-report=out")
    for name in ("test_isolated", "test_leaky"):
        directory = pytester.path / "out" / report_dirname(f"test_runs.py::{name}")
        assert (directory / "findings.json").is_file()
        assert (directory / "report.html").is_file()
    assert not (pytester.path / "out" / report_dirname("test_runs.py::test_plain")).exists()


def test_harness_users_come_from_the_test_seed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_users="""
        import random
        from harness.users import UserFactory

        def test_same(harness_users, harness_seed, run_scenario):
            assert len(harness_users) == 3
            assert harness_users == UserFactory(random.Random(harness_seed)).users(3)
            result = run_scenario("golden_path")
            assert len(result.trace.users) == 3
            assert result.seed == harness_seed
        """
    )
    result = _run(pytester, "--harness-users=3")
    result.assert_outcomes(passed=1)


def test_session_scope_reuses_one_loaded_target(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_scope="""
        import pytest

        @pytest.mark.harness(scope="session")
        def test_a(harness_target):
            assert harness_target.load() is harness_target.load()

        @pytest.mark.harness(scope="session")
        def test_b(harness_target, run_scenario):
            assert not run_scenario("burst", users=4).findings

        def test_function_scope(harness_target):
            assert harness_target.load() == "reference"

        @pytest.mark.harness(scope="module")
        def test_bad_scope(harness_target):
            pass
        """
    )
    result = _run(pytester)
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(["*scope='module' is not one of function, session*"])
