"""Real asyncio I/O on the seeded loop: sockets, servers, subprocesses and threads, every strategy.

Each program does real I/O and checks its own results; a strategy that reorders asyncio's own
callbacks makes them fail with ``File descriptor N is used by transport`` or spin forever (the
``timeout`` marker turns a spin into a failure).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from harness.scheduling import PCTStrategy, StrategyError, run
from harness.scheduling._ordering import in_asyncio_order

STRATEGIES = ("fifo", "random", "pct")

pytestmark = pytest.mark.timeout(60)


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while line := await reader.readline():
            writer.write(line.upper())
            await writer.drain()
    finally:
        writer.close()


async def _chat(
    connect: Callable[[], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]],
    clients: int,
    rounds: int,
) -> list[list[bytes]]:
    async def client(index: int) -> list[bytes]:
        reader, writer = await connect()
        replies = []
        for round_ in range(rounds):
            writer.write(f"user {index} round {round_}\n".encode())
            await writer.drain()
            replies.append(await reader.readline())
            await asyncio.sleep(0.01 * (index % 3))
        writer.close()
        await writer.wait_closed()
        return replies

    return await asyncio.gather(*(client(index) for index in range(clients)))


def _expected(clients: int, rounds: int) -> list[list[bytes]]:
    return [
        [f"USER {index} ROUND {round_}\n".encode() for round_ in range(rounds)]
        for index in range(clients)
    ]


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tcp_server_and_clients(strategy: str, seed: int) -> None:
    async def main() -> list[list[bytes]]:
        server = await asyncio.start_server(_echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            return await _chat(lambda: asyncio.open_connection("127.0.0.1", port), 8, 4)

    replies, record = run(main(), strategy=strategy, seed=seed)
    assert replies == _expected(8, 4)
    assert record.real_io


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_unix_socket_server_and_clients(strategy: str) -> None:
    async def main(path: str) -> list[list[bytes]]:
        server = await asyncio.start_unix_server(_echo, path)
        async with server:
            return await _chat(lambda: asyncio.open_unix_connection(path), 6, 3)

    with tempfile.TemporaryDirectory() as directory:
        replies, _ = run(main(os.path.join(directory, "echo.sock")), strategy=strategy, seed=5)
    assert replies == _expected(6, 3)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_subprocesses(strategy: str) -> None:
    code = "import sys; print(sys.stdin.read().upper(), end='')"

    async def one(index: int) -> bytes:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            code,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await process.communicate(f"child {index}".encode())
        assert process.returncode == 0
        return out

    async def main() -> list[bytes]:
        return await asyncio.gather(*(one(index) for index in range(3)))

    out, record = run(main(), strategy=strategy, seed=3)
    assert out == [b"CHILD 0", b"CHILD 1", b"CHILD 2"]
    assert record.real_io


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_executor_and_to_thread(strategy: str) -> None:
    def work(value: int) -> tuple[int, bool]:
        return value * value, threading.current_thread() is not threading.main_thread()

    async def main() -> list[tuple[int, bool]]:
        loop = asyncio.get_running_loop()
        jobs: list[Awaitable[tuple[int, bool]]] = []
        for value in range(10):
            if value % 2:
                jobs.append(loop.run_in_executor(None, work, value))
            else:
                jobs.append(asyncio.to_thread(work, value))
        return await asyncio.gather(*jobs)

    results, record = run(main(), strategy=strategy, seed=9)
    assert results == [(value * value, True) for value in range(10)]
    assert record.real_io


def test_a_program_without_io_records_none() -> None:
    async def main() -> None:
        await asyncio.gather(asyncio.sleep(1), asyncio.sleep(2))

    _, record = run(main(), strategy="random", seed=1)
    assert record.real_io is False


class _Handle:
    """Stands in for an asyncio.Handle: a callback bound to a task, or to nothing."""

    def __init__(self, task: object | None) -> None:
        self._callback = task.get_name if task is not None else print  # type: ignore[attr-defined]


def test_non_task_callbacks_are_pulled_ahead_of_later_task_steps() -> None:
    async def body() -> None:
        task = asyncio.ensure_future(asyncio.sleep(0))
        a, system_1, b, system_2 = _Handle(task), _Handle(None), _Handle(task), _Handle(None)
        batch: list[Any] = [a, system_1, b, system_2]
        assert in_asyncio_order(batch, [2, 0, 1, 3]) == [1, 2, 0, 3]
        assert in_asyncio_order(batch, [3, 2, 1, 0]) == [1, 3, 2, 0]
        assert in_asyncio_order(batch, [0, 1, 2, 3]) == [0, 1, 2, 3]
        assert in_asyncio_order(batch, [0, 2, 1, 3]) == [0, 1, 2, 3]
        assert in_asyncio_order(batch, [2]) == [1, 2]  # the rest stays queued
        await task

    asyncio.run(body())


class _TaskFirstPCT(PCTStrategy):
    """A broken serial strategy: runs task steps before earlier callbacks bound to no task."""

    def pick(self, count: int, step: int) -> int:
        if self._heap and self._system:
            return self._take()
        return super().pick(count, step)


def test_a_serial_strategy_that_breaks_asyncio_order_is_an_error() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        loop.call_soon(future.set_result, None)
        waiter = asyncio.ensure_future(future)
        await asyncio.gather(waiter, asyncio.sleep(0), asyncio.sleep(0))

    import random

    with pytest.raises(StrategyError, match="bound to no task"):
        run(main(), strategy=_TaskFirstPCT(random.Random(0)))
