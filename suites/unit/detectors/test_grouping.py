"""One finding per root cause: group_findings and the leak matrix."""

from __future__ import annotations

from collections import Counter

import pytest

from harness.detectors import blast_radius, group_findings, leak_matrix
from harness.model import Finding
from harness.reporting._terminal import matrix_lines
from harness.runner import run
from harness.scenarios import build
from harness.serialization import from_data, to_data

pytestmark = pytest.mark.unit


def _crossing(owner: str, receiver: str, path: str, count: int = 1) -> Finding:
    return Finding(
        kind="foreign-data",
        users=(owner, receiver),
        summary=f"objects of {receiver} hold data of {owner}",
        evidence=(f"{receiver}'s {path}: canary of {owner}",),
        count=count,
        group_key=f"foreign-data|objects|{path}",
        pairs=((owner, receiver),),
    )


def test_a_shared_engine_becomes_a_few_groups_that_keep_every_kind_and_count() -> None:
    result = run("reference", build("burst", 0, 12), strategy="random", fault="shared-engine")
    groups = group_findings(result.findings)
    assert 0 < len(groups) < len(result.findings)
    assert {g.kind for g in groups} == {f.kind for f in result.findings}
    raw: Counter[str] = Counter()
    for finding in result.findings:
        raw[finding.kind] += finding.count
    grouped: Counter[str] = Counter()
    for group in groups:
        grouped[group.kind] += group.count
    assert grouped == raw  # every observation is counted in exactly one group
    for group in groups:
        assert group.group_key.startswith(group.kind + "|")
        assert group.replay == result.replay
    shared = [g for g in groups if g.kind == "shared-state"]
    assert len(shared) == 1  # one engine handed to everyone: one cause
    assert len(shared[0].users) == 12
    leaks = [g for g in groups if g.kind == "foreign-data"]
    assert any(line.startswith("owner -> receivers (") for g in leaks for line in g.evidence)
    assert list(groups) == sorted(groups, key=blast_radius)


def test_the_correct_backend_has_no_groups_and_no_matrix() -> None:
    result = run("reference", build("burst", 0, 12), strategy="random")
    assert result.findings == ()
    assert result.trace.observed["walks"] > 0
    assert group_findings(result.findings) == ()
    assert matrix_lines(leak_matrix(result.findings)) == []


def test_findings_of_one_pattern_merge_and_list_who_leaked_to_whom() -> None:
    findings = [
        _crossing("usr_a", "usr_b", "tracker", 3),
        _crossing("usr_a", "usr_c", "tracker", 2),
        _crossing("usr_b", "usr_c", "tracker._rows", 4),  # nested in the same carrier
        _crossing("usr_c", "usr_a", "inbox", 1),
    ]
    groups = group_findings(findings)
    assert [g.count for g in groups] == [9, 1]
    big = groups[0]
    assert big.group_key == "foreign-data|objects|tracker"
    assert big.pairs == (("usr_a", "usr_b"), ("usr_a", "usr_c"), ("usr_b", "usr_c"))
    assert big.users == ("usr_a", "usr_b", "usr_c")
    assert "owner -> receivers (3 pairs): usr_a -> usr_b, usr_c; usr_b -> usr_c" in big.evidence
    assert big.examples == (
        "usr_c's tracker: canary of usr_a",
        "usr_c's tracker._rows: canary of usr_b",
    )
    assert "and 2 more like it at tracker (9 occurrences, 3 users)" in big.summary
    assert groups[1] == findings[3]  # a cause seen once is its own finding, unchanged


def test_grouping_is_idempotent_and_survives_serialization() -> None:
    groups = group_findings([_crossing("usr_a", "usr_b", "t"), _crossing("usr_b", "usr_a", "t")])
    assert group_findings(groups) == groups
    data = to_data(groups[0])
    assert from_data(Finding, data) == groups[0]
    # A findings file written before groups existed still reads, with neutral defaults.
    old = {
        k: v
        for k, v in data.items()
        if k not in ("count", "examples", "group_key", "pairs", "sites")
    }
    read = from_data(Finding, old)
    assert (read.count, read.examples, read.group_key, read.pairs, read.sites) == (
        1,
        (),
        "",
        (),
        (),
    )


def test_the_leak_matrix_sums_users_past_the_limit_as_others() -> None:
    findings = [_crossing(f"usr_{i:012x}", f"usr_{i + 1:012x}", "t", 2) for i in range(10)]
    matrix = leak_matrix(findings)
    assert matrix.cells[("usr_000000000000", "usr_000000000001")] == 2
    lines = matrix_lines(matrix, limit=3)
    assert lines[0].startswith("leak matrix (11 users;")
    assert lines[1].split()[-1] == "others"
    assert len(lines) == 2 + 4  # three users and "others"
    total = sum(int(cell) for line in lines[2:] for cell in line.split()[1:] if cell != ".")
    assert total == 20


def test_a_group_keeps_a_bounded_number_of_pairs_but_counts_them_all() -> None:
    from harness.detectors._grouping import MAX_PAIRS

    users = [f"usr_{i:012x}" for i in range(40)]
    findings = [_crossing(a, b, "tracker") for a in users for b in users if a != b]
    assert len(findings) > MAX_PAIRS
    (group,) = group_findings(findings)
    assert len(group.pairs) == MAX_PAIRS
    assert group.count == len(findings) == 40 * 39
    assert f"owner -> receivers ({40 * 39} pairs)" in " ".join(group.evidence)
    assert set(group.users) == set(users)
