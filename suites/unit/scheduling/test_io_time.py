"""The time rule of the seeded loop with real I/O, and what it lets go of.

Virtual time must not run ahead of real I/O: a reply on its way is waited for (up to the grace
period) before a timer fires; a peer that may never answer makes virtual time run at real pace,
never faster; nothing pending lets the clock jump. These tests assert on the loop's clock and
statistics, never on wall-clock durations.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import socket
import sys
import threading
import weakref
from collections.abc import Iterator

import pytest

from harness.errors import UsageError
from harness.scheduling import SeededEventLoop, run

pytestmark = pytest.mark.timeout(60)


def test_a_thread_reply_is_waited_for_before_a_timer_fires() -> None:
    release = threading.Event()

    def slow() -> str:
        release.wait(10)
        return "reply"

    async def main() -> tuple[str, float]:
        loop = asyncio.get_running_loop()
        loop.call_later(0, threading.Timer(0.05, release.set).start)
        reply = await asyncio.wait_for(loop.run_in_executor(None, slow), timeout=0.01)
        return reply, loop.time()

    (reply, now), record = run(main(), strategy="random", seed=2, io_grace=30)
    assert (reply, now) == ("reply", 0.0)  # the 0.01 s virtual timeout did not fire
    assert record.real_io


def test_an_unanswered_socket_lets_time_pass_at_real_pace_only() -> None:
    loop = SeededEventLoop(io_grace=0)

    async def main() -> float:
        left, right = socket.socketpair()
        left.setblocking(False)
        try:
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(loop.sock_recv(left, 1), timeout=0.2)
            return loop.time()
        finally:
            left.close()
            right.close()

    try:
        assert loop.run_until_complete(main()) == 0.2
    finally:
        loop.close()
    stats = loop.statistics()
    assert stats.paced_seconds == pytest.approx(0.2)
    assert stats.io_waits >= 1
    assert stats.real_io is False  # nothing arrived: no event was delivered


@pytest.fixture
def outside_server() -> Iterator[socket.socket]:
    """A listening socket no loop watches: a peer in another process, as far as a loop sees."""
    server = socket.create_server(("127.0.0.1", 0))
    yield server
    server.close()


def test_idle_stream_connections_do_not_slow_the_clock(outside_server: socket.socket) -> None:
    port = outside_server.getsockname()[1]

    async def main() -> tuple[float, float]:
        loop = asyncio.get_running_loop()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await asyncio.sleep(3600)  # an idle pooled connection: nobody reads it
        idle = loop.time()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(reader.read(1), timeout=0.1)  # now somebody does
        writer.close()
        return idle, loop.time()

    loop = SeededEventLoop(io_grace=0.05)
    try:
        idle, after = loop.run_until_complete(main())
    finally:
        loop.close()
    assert idle == 3600.0
    stats = loop.statistics()
    assert after == pytest.approx(3600.1)
    assert stats.paced_seconds == pytest.approx(0.1)  # only the awaited read ran at real pace


def test_a_child_process_is_waited_for_before_a_timer_fires() -> None:
    code = "import time; time.sleep(0.05); print('done', end='')"

    async def main() -> tuple[bytes, float]:
        loop = asyncio.get_running_loop()
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-c", code, stdout=asyncio.subprocess.PIPE
        )
        out, _ = await asyncio.wait_for(child.communicate(), timeout=0.01)
        return out, loop.time()

    # A generous grace: however slow the machine starts the child, the timer must not fire.
    (out, now), record = run(main(), strategy="pct", seed=4, io_grace=30)
    assert (out, now) == (b"done", 0.0)  # the 0.01 s virtual timeout did not fire
    assert record.real_io


class _Collect(asyncio.Protocol):
    """A protocol the loop cannot see into: it cannot tell whether anyone awaits its data."""

    def __init__(self) -> None:
        self.received: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        if not self.received.done():
            self.received.set_result(data)


def test_an_opaque_protocol_gets_no_grace_but_real_pace(outside_server: socket.socket) -> None:
    port = outside_server.getsockname()[1]
    loop = SeededEventLoop(io_grace=30)  # a grace would outlast the test's timeout

    async def main() -> float:
        transport, protocol = await loop.create_connection(_Collect, "127.0.0.1", port)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(protocol.received, timeout=0.1)
        transport.close()
        return loop.time()

    try:
        assert loop.run_until_complete(main()) == pytest.approx(0.1)
    finally:
        loop.close()
    assert loop.statistics().paced_seconds == pytest.approx(0.1)


def test_connections_to_a_server_of_the_same_loop_are_never_waited_for() -> None:
    handled = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)  # waits for a request that comes only as the client closes
        writer.close()
        handled.set()

    async def main() -> float:
        loop = asyncio.get_running_loop()
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        async with server:
            reader, writer = await asyncio.open_connection(*server.sockets[0].getsockname()[:2])
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(reader.read(1), timeout=30)
            writer.close()
            await handled.wait()
            return loop.time()

    loop = SeededEventLoop()
    try:
        assert loop.run_until_complete(main()) == 30.0
    finally:
        loop.close()
    assert loop.statistics().paced_seconds == 0.0
    assert loop.statistics().io_waits == 0


class _Engine:
    """Stands in for a target object only an executor job refers to."""


def test_finished_executor_jobs_are_not_kept() -> None:
    def build(refs: list[weakref.ref[_Engine]], fail: bool) -> _Engine:
        engine = _Engine()
        refs.append(weakref.ref(engine))
        if fail:
            raise ValueError("the job failed; its traceback holds the engine's frame")
        return engine

    async def main() -> list[bool]:
        loop = asyncio.get_running_loop()
        refs: list[weakref.ref[_Engine]] = []
        await loop.run_in_executor(None, build, refs, False)  # result dropped at once
        with contextlib.suppress(ValueError):
            await asyncio.to_thread(build, refs, True)
        # The step that runs now was woken by the job's future, which its call still holds.
        await asyncio.sleep(0)
        gc.collect()
        return [ref() is None for ref in refs]

    assert run(main())[0] == [True, True]


def test_io_grace_must_be_seconds() -> None:
    with pytest.raises(UsageError, match=r"io_grace=-1 \(int\).*seconds >= 0"):
        SeededEventLoop(io_grace=-1)
