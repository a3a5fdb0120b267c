"""suites/overlap.py: runs started together, each read by its own test with its own outcome."""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable

import pytest

from suites.overlap import MAX_AT_ONCE, Overlap, selected


def test_runs_overlap_and_each_key_reads_its_own_result() -> None:
    first, second = threading.Event(), threading.Event()

    def meet(mine: threading.Event, other: threading.Event) -> bool:
        mine.set()
        return other.wait(timeout=30)  # True only if the other run ran at the same time

    with Overlap[str, bool](2) as runs:
        runs.start([("a", lambda: meet(first, second)), ("b", lambda: meet(second, first))])
        runs.wait()
        assert runs.result("a") is True
        assert runs.result("b") is True


def test_a_failed_run_fails_only_its_own_key_with_its_own_traceback() -> None:
    def broken() -> int:
        raise ValueError("run b broke")

    with Overlap[str, int](2) as runs:
        runs.start([("a", lambda: 1), ("b", broken), ("c", lambda: 3)])
        runs.wait()
        with pytest.raises(ValueError, match="run b broke") as raised:
            runs.result("b")
        assert runs.result("a") == 1
        assert runs.result("c") == 3
    frames = [frame.name for frame in traceback.extract_tb(raised.value.__traceback__)]
    assert "broken" in frames, frames


def test_a_started_key_is_never_started_again_even_once_read() -> None:
    calls: list[str] = []

    def job(name: str) -> Callable[[], str]:
        def call() -> str:
            calls.append(name)
            return name

        return call

    with Overlap[str, str](1) as runs:
        runs.start([("a", job("a"))])
        assert runs.result("a") == "a"
        runs.start([("a", job("a again")), ("b", job("b"))])
        assert runs.result("b") == "b"
    assert calls == ["a", "b"]


def test_reading_a_run_never_started_or_already_read_names_the_remedy() -> None:
    with Overlap[str, int](1) as runs:
        runs.start([("a", lambda: 1)])
        with pytest.raises(LookupError, match=r"no run of 'z' to read \(unread runs: 'a'\)"):
            runs.result("z")
        assert runs.result("a") == 1
        with pytest.raises(LookupError, match="read each run once"):
            runs.result("a")


@pytest.mark.parametrize("at_once", [0, MAX_AT_ONCE + 1])
def test_the_number_of_runs_at_once_is_bounded(at_once: int) -> None:
    with pytest.raises(ValueError, match=f"use 1 to {MAX_AT_ONCE} runs at once"):
        Overlap[str, int](at_once)


@pytest.mark.parametrize("letter", ["x", "y"])
def test_selected_lists_the_chosen_tests_of_one_function(
    request: pytest.FixtureRequest, letter: str
) -> None:
    chosen = selected(request, "test_selected_lists_the_chosen_tests_of_one_function")
    assert letter in [item.callspec.params["letter"] for item in chosen]
    assert all(item.module is request.module for item in chosen)
    assert selected(request, "no_such_test") == []


def test_result_of_checks_the_type_of_a_run_that_gives_one_of_several() -> None:
    with Overlap[str, object](1) as runs:
        runs.start([("number", lambda: 1), ("word", lambda: "one")])
        assert runs.result_of("number", int) == 1
        with pytest.raises(TypeError, match="the run of 'word' gave a str, not a <class 'int'>"):
            runs.result_of("word", int)
