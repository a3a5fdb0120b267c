"""Which client a Locust worker should use: measured, one fresh process per way.

``python -m harness.distributed.measure_clients --users 1000`` starts a local
``harness_backend.server`` and drives the same users (one block scenario) three ways, each in
its own child process (gevent's patching is process-wide), printing the child's CPU seconds and
the turns completed:

- ``gevent``: gevent's ``patch_all`` (what Locust does), then the blocking
  :class:`~harness.distributed.WireConnection`, a greenlet per user (what ships);
- ``asyncio-thread``: ``patch_all``, then the harness's asyncio client (``harness.runner.run``
  with the WebSocket adapter) in one real OS thread, as a worker would run it beside its hub;
- ``asyncio``: no patching, the asyncio client on the main thread (``harness run`` alone).
"""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

__all__ = ["main"]

_WAYS = ("gevent", "asyncio-thread", "asyncio")


def _child(way: str, url: str, users: int, scenario: str) -> None:
    # gevent ships no type hints: reached through importlib, typed Any.
    gevent: Any = importlib.import_module("gevent") if way != "asyncio" else None
    if gevent is not None:
        importlib.import_module("gevent.monkey").patch_all()
    from harness.distributed import Population, PopulationSpec

    spec = PopulationSpec(scenario, seed=0, salt=f"clients-{way}", block=users)
    population = Population(spec)
    completed = 0
    began = time.monotonic()
    if way == "gevent":
        import itertools
        import threading

        from harness.distributed import UserJournal, UserSlot, WireConnection, drive_user
        from harness.targets.websocket import WebSocketTarget

        target = WebSocketTarget(url)
        steps = itertools.count()
        journals = [UserJournal(population.slot(0, n), steps.__next__) for n in range(users)]

        def connect(slot: UserSlot, connection_id: str) -> WireConnection:
            return WireConnection(target, slot.user, connection_id, next_step=steps.__next__)

        threads = [
            threading.Thread(target=drive_user, args=(j, connect), daemon=True) for j in journals
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        completed = sum(t.outcome.status == "completed" for j in journals for t in j.record().turns)
    else:
        from harness.runner import run
        from harness.targets.websocket import WebSocketTarget

        scenario_built = population.block_scenario(0, 0)
        results: list[int] = []

        def drive() -> None:
            result = run(WebSocketTarget(url), scenario_built, detectors=False)
            results.append(result.stats["statuses"].get("completed", 0))

        if way == "asyncio-thread":
            real_thread = gevent.monkey.get_original("threading", "Thread")
            thread = real_thread(target=drive, daemon=True)
            thread.start()
            # The hub must keep running while the real thread works, as in a worker.
            while thread.is_alive():
                gevent.sleep(0.05)
        else:
            drive()
        completed = results[0] if results else 0
    print(f"{completed} {time.monotonic() - began:.2f}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.distributed.measure_clients")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--scenario", default="burst")
    parser.add_argument("--limit", type=float, default=60.0, help="seconds per way, then kill")
    parser.add_argument("--ways", nargs="+", choices=_WAYS, default=list(_WAYS))
    parser.add_argument("--child", nargs=2, metavar=("WAY", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child[0], args.child[1], args.users, args.scenario)
        return 0
    from harness.targets import local_server

    for way in args.ways:
        with local_server() as (url, secret):
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "harness.distributed.measure_clients",
                    f"--users={args.users}",
                    f"--scenario={args.scenario}",
                    "--child",
                    way,
                    url,
                ],
                env={**os.environ, "HARNESS_JWT_SECRET": secret},
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + args.limit
            while True:  # os.wait4: reaps the child and returns its resource usage
                pid, status, usage = os.wait4(process.pid, os.WNOHANG)
                if pid:
                    break
                if time.monotonic() > deadline:
                    process.kill()
                    pid, status, usage = os.wait4(process.pid, 0)
                    break
                time.sleep(0.1)
            process.returncode = os.waitstatus_to_exitcode(status)
            out = process.stdout.read().decode() if process.stdout else ""
            if process.returncode < 0:
                out = f"killed-after-{args.limit:.0f}s -"
            completed, wall = [*out.split(), "?", "?"][:2]
            cpu = usage.ru_utime + usage.ru_stime
            print(
                f"{way:<15} users={args.users} completed={completed} wall={wall}s "
                f"cpu={cpu:.1f}s peak={usage.ru_maxrss / 1024:.0f}MiB exit={process.returncode}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
