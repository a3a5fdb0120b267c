"""WebSocket targets: connections are paced (``--connect-rate``), handshakes retried within a
bound, and a server that stops accepting is named plainly, with the finished runs written."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.runner import Bounds, run_async
from harness.scenarios import build
from harness.scheduling import run as run_seeded
from harness.targets import local_server
from harness.targets.reference import ReferenceTarget
from suites.integration.robustness._cli import ADAPTERS, run_harness
from suites.integration.robustness._gate import gate
from suites.integration.robustness.robust_adapters import BlackBoxReference

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, str]]:
    with local_server() as (url, secret):
        yield url, secret


@pytest.mark.parametrize("remote", [True, False])
def test_remote_sessions_open_at_the_connect_rate_and_in_process_ones_unpaced(
    remote: bool,
) -> None:
    # On the seeded loop's virtual clock, so the spacing is exact and costs no real time.
    target = BlackBoxReference() if remote else ReferenceTarget()
    scenario = build("golden_path", 0, 6)
    trace, _ = run_seeded(
        run_async(target, scenario, observe=False, bounds=Bounds(connect_rate=2)),
        strategy="fifo",
        seed=0,
    )
    opened = sorted(session.opened_at for session in trace.sessions)
    gaps = [round(b - a, 6) for a, b in itertools.pairwise(opened)]
    assert len(opened) >= 6
    if remote:
        assert min(gaps) >= 0.5  # two a second
    else:
        assert max(opened) < 0.5 * (len(opened) - 1)  # the plan's own times, no ramp


def test_a_server_that_stops_accepting_half_way_is_named_plainly_and_the_report_kept(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    server: tuple[str, str],
) -> None:
    url, secret = server
    monkeypatch.setenv("HARNESS_JWT_SECRET", secret)
    monkeypatch.delenv("HARNESS_TOKENS_FILE", raising=False)
    with gate(url, open_count=3) as gated:  # the first run opens 2 connections
        monkeypatch.setenv("ROBUST_WS_URL", gated)
        got = run_harness(
            capsys, tmp_path, "--target", f"{ADAPTERS}:gated_websocket", "--users", "2",
            "--seeds", "0..2",
        )  # fmt: skip
    assert got.code == 2
    assert "the target cannot accept connections fast enough" in got.err
    assert "in 2 attempt(s) of 0.25s" in got.err
    assert "Lower --connect-rate" in got.err
    runs = got.findings_file()["runs"]
    assert [("failed" in run["stats"]) for run in runs] == [False, True]
    assert runs[0]["findings"] == []
    assert (tmp_path / "report.html").exists()


def test_the_same_server_without_the_gate_runs_every_seed(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    server: tuple[str, str],
) -> None:
    url, secret = server
    monkeypatch.setenv("HARNESS_JWT_SECRET", secret)
    monkeypatch.setenv("ROBUST_WS_URL", url)
    got = run_harness(
        capsys, tmp_path, "--target", f"{ADAPTERS}:gated_websocket", "--users", "2",
        "--seeds", "0..2",
    )  # fmt: skip
    assert got.code == 0, got.err
    assert len(got.findings_file()["runs"]) == 3
