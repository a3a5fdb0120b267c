"""Setting up a remote run: pre-issued tokens, and configuration errors that stop it (exit 2).

A staging deployment usually hands out tokens rather than its signing secret. These tests mint
such tokens for staging-shaped user ids with the local server's secret, write them to a tokens
file, and check that a correct server stays clean through the id mapping; then that a setup the
harness cannot use (too few tokens, nothing listening) stops the run with a TargetError naming
the fix, instead of blaming the server with crash findings.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest

from harness.errors import TargetError
from harness.model import RunResult
from harness.runner import run
from harness.scenarios import build
from harness.targets.websocket import WebSocketTarget
from harness.testing import local_server
from harness_backend.auth import mint_token
from suites.overlap import Overlap, selected

#: What a staging deployment's user ids might look like: nothing like the simulated ones.
STAGING_IDS = [f"usr_5ta9{n:08x}" for n in range(1, 7)]


def _tokens_file(directory: Path, secret: str, count: int) -> Path:
    path = directory / "tokens.txt"
    lines = [mint_token(user_id, secret) for user_id in STAGING_IDS[:count]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def clean_run(directory: Path) -> RunResult:
    with local_server() as (url, secret):
        target = WebSocketTarget(url, tokens_file=_tokens_file(directory, secret, 6))
        return run(target, build("golden_path", 0, 5, salt="tokens"), target_spec=url)


def too_few_tokens_run(directory: Path) -> RunResult:
    with local_server() as (url, secret):
        target = WebSocketTarget(url, tokens_file=_tokens_file(directory, secret, 2))
        return run(target, build("burst", 0, 4, salt="few"), target_spec=url)


#: The runs that overlap: each has its own server and tokens file, and mostly waits.
RUNS: dict[str, Callable[[Path], RunResult]] = {
    "test_pre_issued_tokens_map_back_and_a_correct_server_is_clean": clean_run,
    "test_too_few_pre_issued_tokens_stop_the_run": too_few_tokens_run,
}


@pytest.fixture(scope="module")
def server_runs() -> Iterator[Overlap[str, RunResult]]:
    """The runs of this module's tests in ``RUNS``, started together by the first that needs
    one, each on its own server."""
    with Overlap[str, RunResult](len(RUNS)) as runs:
        yield runs


def run_of_this_test(
    request: pytest.FixtureRequest,
    runs: Overlap[str, RunResult],
    directories: pytest.TempPathFactory,
) -> RunResult:
    """This test's run (or the exception it raised), started with those of every selected test
    of ``RUNS``; the first test waits for them all inside its own call (see ``Overlap.wait``)."""
    runs.start(
        (name, partial(job, directories.mktemp(name[:40])))
        for name, job in RUNS.items()
        if selected(request, name) and not runs.started(name)
    )
    runs.wait()
    return runs.result(request.node.name)


def test_pre_issued_tokens_map_back_and_a_correct_server_is_clean(
    request: pytest.FixtureRequest,
    server_runs: Overlap[str, RunResult],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    result = run_of_this_test(request, server_runs, tmp_path_factory)
    assert result.findings == (), [(f.kind, f.summary) for f in result.findings[:3]]
    echoes = [
        tool["result"]
        for turn in result.trace.turns
        if turn.outcome.result
        for tool in turn.outcome.result.get("tool_results", [])
        if tool.get("name") == "echo" and tool.get("result")
    ]
    assert echoes, "the scenario called echo: its ids must have been mapped back"
    simulated = {user.user_id for user in result.trace.users}
    assert {echo["user_id"] for echo in echoes} <= simulated
    # Loop seconds of the run itself, not the loop clock's arbitrary origin.
    assert 0 < result.stats["virtual_seconds"] < 600


def test_a_foreign_staging_id_stays_foreign_after_mapping(tmp_path: Path) -> None:
    with local_server() as (url, secret):
        target = WebSocketTarget(url, tokens_file=_tokens_file(tmp_path, secret, 2))
        first, second = build("golden_path", 0, 2).users
        target.token_for(first)
        target.token_for(second)
    mapped = target.simulated_ids_in(
        {"result": {"user_id": STAGING_IDS[1], "params": [STAGING_IDS[0], "usr_5ta9ffffffff"]}}
    )
    assert mapped == {
        "result": {"user_id": second.user_id, "params": [first.user_id, "usr_5ta9ffffffff"]}
    }


def test_too_few_pre_issued_tokens_stop_the_run(
    request: pytest.FixtureRequest,
    server_runs: Overlap[str, RunResult],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    with pytest.raises(TargetError, match="2 pre-issued tokens are all in use"):
        run_of_this_test(request, server_runs, tmp_path_factory)


def test_a_server_that_is_not_listening_stops_the_run() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"ws://127.0.0.1:{port}/ws"
    target = WebSocketTarget(url, secret="s" * 40, open_timeout=5.0)
    with pytest.raises(TargetError, match=f"cannot connect to {url}"):
        run(target, build("golden_path", 0, 3), target_spec=url)
