"""Over the wire, the harness's own overload is not blamed on the target: starvation and
missing-event verdicts become "inconclusive" notes when the client's loop ran late."""

from __future__ import annotations

import pytest

from harness.runner import run
from harness.scenarios import build
from suites.integration.robustness.robust_adapters import BlackBoxReference, OverloadedClient

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


def test_an_overloaded_client_makes_starvation_inconclusive_not_a_finding() -> None:
    result = run(OverloadedClient(), build("noisy_neighbor", 0, 4))
    lag = result.stats["client_loop_lag"]
    assert lag["max"] > 0.5  # the hog held the loop: the watcher saw it
    assert result.stats["inconclusive"] >= 1  # verdicts there were, and they were withheld
    assert not [f for f in result.findings if f.kind in ("limit-breach", "event-missing")]
    assert any(n.startswith("inconclusive: the client was overloaded") for n in result.notes)
    assert any(n.startswith("inconclusive limit-breach:") for n in result.notes)


def test_a_calm_client_measures_its_loop_and_withholds_nothing() -> None:
    result = run(BlackBoxReference(), build("noisy_neighbor", 0, 4))
    lag = result.stats["client_loop_lag"]
    assert lag["samples"] > 0
    assert "inconclusive" not in result.stats
    assert not any(n.startswith("inconclusive") for n in result.notes)
    assert result.findings == ()
