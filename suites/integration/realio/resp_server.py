"""A tiny Redis-protocol (RESP2) key-value server, run in its own process by the tests.

``python resp_server.py`` listens on 127.0.0.1, on a free port, prints ``PORT <n>`` on its
first line of output and serves until its stdin closes (so it dies with the test that started
it). Commands: ``PING``, ``ECHO``, ``GET``, ``SET`` (options ignored), ``DEL``, ``EXISTS``,
``INCR``, ``CLIENT`` and ``SELECT`` (accepted), anything else an error. Enough for
``redis.asyncio`` with a connection pool.

:func:`start` and :func:`stop` run it from a test; a module of the suite, so it imports nothing
from the harness.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

__all__ = ["start", "stop"]


class _Protocol(asyncio.Protocol):
    def __init__(self, store: dict[bytes, bytes]) -> None:
        self.store = store
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            command, rest = _parse(self.buffer)
            if command is None:
                return
            self.buffer = rest
            assert self.transport is not None
            self.transport.write(self.execute(command))

    def execute(self, command: list[bytes]) -> bytes:
        name = command[0].upper()
        args = command[1:]
        store = self.store
        if name == b"PING":
            return b"+PONG\r\n"
        if name == b"ECHO":
            return _bulk(args[0])
        if name in (b"CLIENT", b"SELECT"):
            return b"+OK\r\n"
        if name == b"GET":
            return _bulk(store.get(args[0]))
        if name == b"SET":
            store[args[0]] = args[1]
            return b"+OK\r\n"
        if name == b"DEL":
            return b":%d\r\n" % sum(store.pop(key, None) is not None for key in args)
        if name == b"EXISTS":
            return b":%d\r\n" % sum(key in store for key in args)
        if name == b"INCR":
            value = int(store.get(args[0], b"0")) + 1
            store[args[0]] = b"%d" % value
            return b":%d\r\n" % value
        return b"-ERR unknown command '" + name + b"'\r\n"


def _bulk(value: bytes | None) -> bytes:
    if value is None:
        return b"$-1\r\n"
    return b"$%d\r\n%s\r\n" % (len(value), value)


def _parse(buffer: bytes) -> tuple[list[bytes] | None, bytes]:
    """One array-of-bulk-strings command from ``buffer``, and what follows it."""
    if not buffer.startswith(b"*"):
        if b"\r\n" not in buffer:
            return None, buffer
        line, rest = buffer.split(b"\r\n", 1)  # an inline command
        return line.split(), rest
    end = buffer.find(b"\r\n")
    if end < 0:
        return None, buffer
    count = int(buffer[1:end])
    position = end + 2
    parts = []
    for _ in range(count):
        end = buffer.find(b"\r\n", position)
        if end < 0:
            return None, buffer
        size = int(buffer[position + 1 : end])
        start = end + 2
        if len(buffer) < start + size + 2:
            return None, buffer
        parts.append(buffer[start : start + size])
        position = start + size + 2
    return parts, buffer[position:]


async def _serve() -> None:
    loop = asyncio.get_running_loop()
    store: dict[bytes, bytes] = {}
    server = await loop.create_server(lambda: _Protocol(store), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(f"PORT {port}", flush=True)
    # Serve until the parent closes our stdin.
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


def start() -> tuple[subprocess.Popen[str], int]:
    """Start the server in a child process; return it and its port."""
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("PORT "):
        stop(process)
        raise RuntimeError(f"the RESP server did not start: first line {line!r}")
    return process, int(line.split()[1])


def stop(process: subprocess.Popen[str]) -> None:
    """Stop a server :func:`start` started, and wait for it."""
    if process.stdin is not None:
        process.stdin.close()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()


if __name__ == "__main__":
    asyncio.run(_serve())
