"""A headless Locust master and two workers on 127.0.0.1 run a scenario; the master judges it.

Each run starts its own ``harness_backend.server`` (faults cannot be switched on in a staging
deployment), the master and both workers as subprocesses, bounded in time: ``-t 1s`` of load,
turns bounded by ``--harness-turn-timeout``, every process waited for and killed if it hangs.

One second (Locust's shortest ``-t``) is enough: ``-r`` equals ``-u``, so every user is spawned
in one step at the start (about 0.3 s), runs its plans once and then idles; at test stop each
worker waits (``--harness-grace``) for the turns still in flight, so a shorter run does not cut
any user's plans, it only trims the idle tail. What a run costs beyond ``-t`` is Locust's own:
starting three interpreters, the master's one-second poll for ``--expect-workers`` and its
shutdown handshake.

Those costs are mostly waiting, and every run has its own server, port and directory, so the
runs of this module's tests go four at a time (``locust_runs``); each test asserts on its own.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar, cast

import pytest

import harness.distributed
from harness.distributed import Population, PopulationSpec
from harness.model import RunResult
from harness.runner import run
from harness.targets.websocket import WebSocketTarget
from harness.testing import local_server
from suites.overlap import Overlap, selected

LOCUSTFILE = Path(harness.distributed.__file__).parent / "locustfile.py"
USERS = 20
#: The population every run here spawns (the options below say the same).
SPEC = PopulationSpec("golden_path", seed=0, salt="e2e", block=5, turn_timeout=2.0)
OPTIONS = (
    f"--harness-scenario={SPEC.scenario}",
    f"--harness-seed={SPEC.seed}",
    f"--harness-salt={SPEC.salt}",
    f"--harness-block={SPEC.block}",
    f"--harness-turn-timeout={SPEC.turn_timeout}",
    "--harness-grace=5",
)
#: Under the faults here (shared engine, last-writer routing) most turns lose their events and
#: wait for the turn timeout, so the workers' grace at test stop is spent waiting on them (a
#: user's turns one after another): a 0.5 s bound finds the same leaks sooner. A turn that
#: merely ran late under load is one more ``hang``, a kind every such run reports anyway, and
#: the comparison with ``harness run`` uses the same bound (a correct server's turns keep the
#: 2 s bound above).
LOST_EVENTS_TIMEOUT = 0.5
LOST_EVENTS_BOUND = (f"--harness-turn-timeout={LOST_EVENTS_TIMEOUT}",)


@dataclass(frozen=True, slots=True)
class LocustRun:
    """What a distributed run left: the master's exit code, log and report directory."""

    exit_code: int
    log: str
    report: Path

    def findings(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.report / "findings.json").read_text("utf-8"))
        return data

    def kinds(self) -> set[str]:
        return {finding["kind"] for finding in self.findings()["findings"]}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def run_locust(url: str, secret: str, directory: Path, *, extra: Sequence[str] = ()) -> LocustRun:
    """Master plus two workers against ``url``, headless, ``-t 1s``; every process stopped."""
    port = free_port()
    report = directory / "report"
    environment = {**os.environ, "HARNESS_JWT_SECRET": secret}
    environment.pop("HARNESS_TOKENS_FILE", None)
    locust = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE)]
    master_log = directory / "master.log"
    processes: list[subprocess.Popen[bytes]] = []
    try:
        with master_log.open("wb") as log:
            processes.append(
                subprocess.Popen(
                    [
                        *locust,
                        "--master",
                        "--headless",
                        "--only-summary",
                        f"--host={url}",
                        f"-u={USERS}",
                        f"-r={USERS}",
                        "-t=1s",
                        "--expect-workers=2",
                        "--master-bind-host=127.0.0.1",
                        f"--master-bind-port={port}",
                        f"--harness-report={report}",
                        *OPTIONS,
                        *extra,
                    ],
                    cwd=directory,
                    env=environment,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
            for number in range(2):
                with (directory / f"worker{number}.log").open("wb") as worker_log:
                    processes.append(
                        subprocess.Popen(
                            [
                                *locust,
                                "--worker",
                                "--master-host=127.0.0.1",
                                f"--master-port={port}",
                            ],
                            cwd=directory,
                            env=environment,
                            stdout=worker_log,
                            stderr=subprocess.STDOUT,
                        )
                    )
            exit_code = processes[0].wait(timeout=60)
            for worker in processes[1:]:
                worker.wait(timeout=20)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
    return LocustRun(exit_code, master_log.read_text("utf-8", "replace"), report)


def worker_of_each_user() -> dict[str, int]:
    """Which worker the population puts each user on (from the run's parameters alone)."""
    population = Population(SPEC)
    return {
        population.slot(worker, sequence).user.user_id: worker
        for worker in (0, 1)
        for sequence in range(USERS)
    }


@dataclass(frozen=True, slots=True)
class ComparedRun:
    """A distributed run and the same population's first block through ``harness run``."""

    locust: LocustRun
    alone: RunResult


@dataclass(frozen=True, slots=True)
class StandaloneRun:
    """What one ``locust --headless`` process left: its exit code, stderr and report directory."""

    exit_code: int
    log: str
    report: Path


def clean_run(directory: Path) -> LocustRun:
    with local_server() as (url, secret):
        return run_locust(url, secret, directory)


def shared_engine_run(directory: Path) -> ComparedRun:
    with local_server(faults=["shared-engine"]) as (url, secret):
        result = run_locust(url, secret, directory, extra=LOST_EVENTS_BOUND)
        # The same scenario and seed through `harness run` on one machine (one block).
        spec = dataclasses.replace(SPEC, turn_timeout=LOST_EVENTS_TIMEOUT)
        block = Population(spec).block_scenario(9, 0)
        alone = run(WebSocketTarget(url, secret=secret), block, target_spec=url)
    return ComparedRun(result, alone)


def misrouting_run(directory: Path) -> LocustRun:
    with local_server(faults=["last-writer-routing"]) as (url, secret):
        return run_locust(url, secret, directory, extra=LOST_EVENTS_BOUND)


def bad_options_run(directory: Path, options: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "-t=1s", *options],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "HARNESS_JWT_SECRET": "s" * 40},
    )


def run_standalone(
    url: str, secret: str, directory: Path, *, extra: Sequence[str] = ()
) -> StandaloneRun:
    """One ``locust --headless`` process (no master): it drives and judges the run itself."""
    report = directory / "report"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(LOCUSTFILE),
            "--headless",
            "--only-summary",
            f"--host={url}",
            "-u=6",
            "-r=6",
            "-t=1s",
            f"--harness-report={report}",
            *OPTIONS,
            *extra,
        ],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "HARNESS_JWT_SECRET": secret},
    )
    return StandaloneRun(done.returncode, done.stderr, report)


def standalone_misrouting_run(directory: Path) -> StandaloneRun:
    with local_server(faults=["last-writer-routing"]) as (url, secret):
        return run_standalone(url, secret, directory, extra=LOST_EVENTS_BOUND)


def refused_token_run(directory: Path) -> StandaloneRun:
    with local_server() as (url, secret):
        return run_standalone(url, secret[::-1], directory)


#: Locust runs at once. Each is a few processes (its server, Locust's master and workers) that
#: mostly wait: Locust's start-up, the master's one-second poll for its workers, ``-t 1s``,
#: the turn time-outs and the shutdown handshake. Each run has its own server, port and
#: directory. Four at a time keep the machine's two cores from starving the runs' start-up.
AT_ONCE = 4
R = TypeVar("R")


def the_run_of(test: pytest.Function, directory: Path) -> Callable[[], object]:
    """The job of one test of this module: what it used to run in its own body."""
    jobs: dict[str, Callable[[Path], object]] = {
        "test_a_correct_server_is_clean_and_the_master_writes_the_reports": clean_run,
        "test_a_shared_engine_is_found_as_harness_run_finds_it": shared_engine_run,
        "test_misrouting_between_users_of_different_workers_is_found_on_the_master": (
            misrouting_run
        ),
        "test_one_locust_process_judges_its_own_run": standalone_misrouting_run,
        "test_a_refused_token_is_exit_2_not_a_finding": refused_token_run,
    }
    if test.originalname == "test_bad_options_stop_locust_at_start_with_the_remedy":
        options = cast(list[str], test.callspec.params["options"])
        return partial(bad_options_run, directory, options)
    return partial(jobs[test.originalname], directory)


#: The tests of this module whose run overlaps the others' (all of them).
OVERLAPPED = (
    "test_a_correct_server_is_clean_and_the_master_writes_the_reports",
    "test_a_shared_engine_is_found_as_harness_run_finds_it",
    "test_misrouting_between_users_of_different_workers_is_found_on_the_master",
    "test_bad_options_stop_locust_at_start_with_the_remedy",
    "test_one_locust_process_judges_its_own_run",
    "test_a_refused_token_is_exit_2_not_a_finding",
)


@pytest.fixture(scope="module")
def locust_runs() -> Iterator[Overlap[str, object]]:
    """The module's Locust runs, started together by the first test that needs one."""
    with Overlap[str, object](AT_ONCE) as runs:
        yield runs


def run_of_this_test(
    request: pytest.FixtureRequest,
    runs: Overlap[str, object],
    directories: pytest.TempPathFactory,
    kind: type[R],
) -> R:
    """This test's run, started with those of every selected test of this module (each in a
    directory of its own); the first test waits for them all inside its own call (see
    ``Overlap.wait``), the later ones find theirs done."""
    tests = [test for name in OVERLAPPED for test in selected(request, name)]
    runs.start(
        (test.name, the_run_of(test, directories.mktemp(test.originalname[:40])))
        for test in tests
        if not runs.started(test.name)
    )
    runs.wait()
    return runs.result_of(request.node.name, kind)


def test_a_correct_server_is_clean_and_the_master_writes_the_reports(
    request: pytest.FixtureRequest,
    locust_runs: Overlap[str, object],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    result = run_of_this_test(request, locust_runs, tmp_path_factory, LocustRun)
    assert result.exit_code == 0, result.log[-3000:]
    data = result.findings()
    assert data["schema"] == 1 and data["findings"] == []
    stats = data["stats"]
    assert stats["users"] == USERS and stats["workers"] == 2, stats
    assert set(stats["users_per_worker"]) == {"w0", "w1"}
    assert all(count > 0 for count in stats["users_per_worker"].values())
    assert stats["statuses"] == {"completed": stats["turns"]} and stats["turns"] >= USERS
    assert (result.report / "report.html").read_text("utf-8").lstrip().startswith("<!")
    assert "isolation harness: 20 users on 2 worker(s)" in result.log
    # Locust's own stats saw every turn, none failed.
    assert "WS       turn golden_path" in result.log
    assert "0(0.00%)" in result.log


def test_a_shared_engine_is_found_as_harness_run_finds_it(
    request: pytest.FixtureRequest,
    locust_runs: Overlap[str, object],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    compared = run_of_this_test(request, locust_runs, tmp_path_factory, ComparedRun)
    result, alone = compared.locust, compared.alone
    assert result.exit_code == 1, result.log[-3000:]
    kinds = result.kinds()
    # Over the wire a shared engine shows as events of one user's run on another's tab (the
    # sender's data in them is that finding's evidence, not a second foreign-data finding).
    assert "event-misrouted" in kinds, kinds
    assert kinds == {f.kind for f in alone.findings}
    finding = result.findings()["findings"][0]
    assert finding["replay"].startswith(("harness run --target ws://", "locust -f "))
    assert (result.report / "report.html").exists()


def test_misrouting_between_users_of_different_workers_is_found_on_the_master(
    request: pytest.FixtureRequest,
    locust_runs: Overlap[str, object],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    result = run_of_this_test(request, locust_runs, tmp_path_factory, LocustRun)
    assert result.exit_code == 1, result.log[-3000:]
    misrouted = [f for f in result.findings()["findings"] if f["kind"] == "event-misrouted"]
    assert misrouted, result.kinds()
    where = worker_of_each_user()
    across = [f for f in misrouted if {where[user] for user in f["users"]} == {0, 1}]
    assert across, "no misrouted event crossed from one worker's user to the other's"
    assert across[0]["replay"].startswith("locust -f ")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--host=ws://127.0.0.1:9/ws", "--harness-block=0"], "block=0 (type int) must be"),
        (["--host=http://127.0.0.1:9"], "--host='http://127.0.0.1:9' is not a WebSocket URL"),
    ],
)
def test_bad_options_stop_locust_at_start_with_the_remedy(
    request: pytest.FixtureRequest,
    locust_runs: Overlap[str, object],
    tmp_path_factory: pytest.TempPathFactory,
    options: list[str],
    message: str,
) -> None:
    done: subprocess.CompletedProcess[str] = run_of_this_test(
        request, locust_runs, tmp_path_factory, subprocess.CompletedProcess
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert message in done.stderr


def test_one_locust_process_judges_its_own_run(
    request: pytest.FixtureRequest,
    locust_runs: Overlap[str, object],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    standalone = run_of_this_test(request, locust_runs, tmp_path_factory, StandaloneRun)
    exit_code, log, report = standalone.exit_code, standalone.log, standalone.report
    assert exit_code == 1, log[-3000:]
    data = json.loads((report / "findings.json").read_text("utf-8"))
    assert "event-misrouted" in {f["kind"] for f in data["findings"]}
    assert data["stats"]["users_per_worker"] == {"w0": 6}


def test_a_refused_token_is_exit_2_not_a_finding(
    request: pytest.FixtureRequest,
    locust_runs: Overlap[str, object],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    standalone = run_of_this_test(request, locust_runs, tmp_path_factory, StandaloneRun)
    exit_code, log = standalone.exit_code, standalone.log
    assert exit_code == 2, log[-3000:]
    assert "refused the token of usr_" in log
