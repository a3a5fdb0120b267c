"""harness.testing: assert_isolated, the finding text and derived seeds, without pytester."""

from __future__ import annotations

from dataclasses import replace

import pytest

import harness.pytest_plugin
import harness.testing
from harness.model import Finding, RunResult
from harness.runner import run
from harness.scenarios import build
from harness.testing import IsolationFailure, assert_isolated, derive_seed, format_findings


@pytest.fixture(scope="module")
def clean() -> RunResult:
    return run("reference", build("golden_path", seed=3, users=4), strategy="fifo")


def _finding(kind: str, number: int) -> Finding:
    return Finding(
        kind=kind,
        users=("usr_aaaaaaaaaaaa", "usr_bbbbbbbbbbbb"),
        summary=f"{kind} number {number}",
        evidence=tuple(f"path[{i}]" for i in range(10)),
        expected="only usr_bbbbbbbbbbbb data",
        actual="cnry_0123456789abcdef of usr_aaaaaaaaaaaa",
    )


def test_clean_run_passes(clean: RunResult) -> None:
    assert clean.findings == ()
    assert_isolated(clean)
    assert_isolated([clean, clean])


def test_findings_fail_with_kind_users_diff_docs_and_replay(clean: RunResult) -> None:
    leaky = replace(clean, findings=(_finding("foreign-data", 1), _finding("retention", 2)))
    with pytest.raises(IsolationFailure) as caught:
        assert_isolated(leaky)
    text = str(caught.value)
    assert isinstance(caught.value, AssertionError)
    assert "2 isolation finding(s) in scenario='golden_path' seed=3 strategy='fifo'" in text
    assert "kinds: foreign-data x1, retention x1" in text
    assert "foreign-data  users: usr_aaaaaaaaaaaa, usr_bbbbbbbbbbbb" in text
    assert "  - expected only usr_bbbbbbbbbbbb data" in text
    assert "  + actual   cnry_0123456789abcdef of usr_aaaaaaaaaaaa" in text
    assert "docs: docs/findings.md#retention" in text
    assert "... and 2 more (--harness-report writes them all)" in text
    assert text.endswith(f"replay the run: {clean.replay}")


def test_allow_tolerates_only_the_named_kinds(clean: RunResult) -> None:
    leaky = replace(clean, findings=(_finding("limit-breach", 1), _finding("hang", 2)))
    assert_isolated(replace(leaky, findings=leaky.findings[:1]), allow={"limit-breach"})
    with pytest.raises(IsolationFailure, match="hang") as caught:
        assert_isolated(leaky, allow={"limit-breach"})
    assert "limit-breach" not in str(caught.value)


def test_long_lists_show_the_first_of_every_kind(clean: RunResult) -> None:
    many = (*(_finding("shared-state", n) for n in range(20)), _finding("hang", 99))
    text = format_findings(replace(clean, findings=many))
    assert "hang number 99" in text
    assert "... and 9 more finding(s)" in text


def test_not_a_result_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"result='oops' \(type str\) is not a RunResult"):
        assert_isolated(["oops"])  # type: ignore[list-item]


def test_derived_seed_is_stable_and_depends_on_both_parts() -> None:
    seed = derive_seed(0, "suites/test_x.py::test_a")
    assert seed == derive_seed(0, "suites/test_x.py::test_a")
    assert 0 <= seed < 2**32
    assert seed != derive_seed(1, "suites/test_x.py::test_a")
    assert seed != derive_seed(0, "suites/test_x.py::test_b")


def test_all_lists_the_public_names() -> None:
    assert set(harness.testing.__all__) == {
        "IsolationFailure",
        "StagingServer",
        "MAX_EVIDENCE_LINES",
        "MAX_FINDINGS_SHOWN",
        "assert_isolated",
        "derive_seed",
        "format_finding",
        "format_findings",
        "local_server",
        "strict_by_default",
    }
    assert set(harness.pytest_plugin.__all__) == {
        "TARGET_OPTION",
        "USERS_OPTION",
        "SEED_OPTION",
        "STRATEGY_OPTION",
        "REPORT_OPTION",
        "STRICT_OPTION",
        "STAGING_URL_OPTION",
        "STAGING_URL_ENV",
        "STRATEGIES",
        "MARKER",
        "HarnessSettings",
        "HarnessTarget",
        "RunScenario",
        "record_findings",
        "record_run",
        "report_dirname",
        "settings_from_config",
    }
    for module in (harness.testing, harness.pytest_plugin):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.__all__ names missing {name!r}"
