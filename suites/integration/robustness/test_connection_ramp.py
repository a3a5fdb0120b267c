"""WebSocket targets: connections are paced (``--connect-rate``), handshakes retried within a
bound, and a server that stops accepting is named plainly, with the finished runs written."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.scheduling import run as run_seeded
from harness.targets import local_server
from harness.targets.websocket import WebSocketTarget
from suites.integration.robustness._cli import ADAPTERS, run_harness
from suites.integration.robustness._gate import gate

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, str]]:
    with local_server() as (url, secret):
        yield url, secret


def test_connections_are_paced_at_the_connect_rate() -> None:
    target = WebSocketTarget("ws://127.0.0.1:1/", secret="s" * 32, connect_rate=10)

    async def five_slots() -> list[float]:
        loop = asyncio.get_running_loop()

        async def slot() -> float:
            await target._connect_slot()
            return loop.time()

        return list(await asyncio.gather(*(slot() for _ in range(5))))

    # On the seeded loop's virtual clock: the slots are exactly 1/rate apart.
    times, _ = run_seeded(five_slots(), strategy="fifo", seed=0)
    assert [round(t - times[0], 6) for t in times] == [0.0, 0.1, 0.2, 0.3, 0.4]


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
    assert "in 2 attempt(s) of 0.5s" in got.err
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
