"""calibrate(): timing verdicts are withheld only when the client itself was overloaded."""

from __future__ import annotations

import pytest

from harness.model import Finding
from harness.runner._calibration import (
    OVERLOAD_MAX_LAG,
    ClientLoad,
    calibrate,
    client_load,
)

pytestmark = pytest.mark.unit

STARVED = Finding(kind="limit-breach", users=("a", "b"), summary="b was starved while a was busy")
CONCURRENCY = Finding(kind="limit-breach", users=("a",), summary="a ran 3 turns at once")
MISSING = Finding(kind="event-missing", users=("a",), summary="a turn lacks agent_started")
FOREIGN = Finding(kind="foreign-data", users=("a", "b"), summary="a canary of a reached b")
ALL = (STARVED, CONCURRENCY, MISSING, FOREIGN)


def test_client_load_summarizes_the_samples() -> None:
    load = client_load([0.0] * 8 + [0.2, 0.9])
    assert load == ClientLoad(samples=10, p90=0.9, max=0.9)
    assert load.overloaded
    assert client_load([]) == ClientLoad(samples=0, p90=0.0, max=0.0)


def test_a_calm_client_keeps_every_finding() -> None:
    kept, notes = calibrate(ALL, client_load([0.001] * 50))
    assert kept == ALL
    assert notes == ()


def test_an_overloaded_client_withholds_only_the_timing_verdicts() -> None:
    kept, notes = calibrate(ALL, client_load([OVERLOAD_MAX_LAG + 0.1] * 5))
    assert kept == (CONCURRENCY, FOREIGN)
    assert notes[0].startswith("inconclusive: the client was overloaded")
    assert "2 timing verdict(s)" in notes[0]
    assert notes[1:] == (
        "inconclusive limit-breach: b was starved while a was busy",
        "inconclusive event-missing: a turn lacks agent_started",
    )
