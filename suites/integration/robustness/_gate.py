"""A TCP gate on 127.0.0.1 in front of a server: it forwards the first ``open`` connections and
accepts the rest without ever answering, as a server whose accept queue is full would."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


class _Gate:
    def __init__(self, host: str, port: int, open_count: int) -> None:
        self.host, self.port, self.open_count = host, port, open_count
        self.accepted = 0
        self.writers: list[asyncio.StreamWriter] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self.writers.append(writer)
        if self.accepted > self.open_count:
            return  # never read, never answered
        upstream_reader, upstream_writer = await asyncio.open_connection(self.host, self.port)
        self.writers.append(upstream_writer)
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))


@contextmanager
def gate(url: str, open_count: int) -> Iterator[str]:
    """Yield a ws:// URL that reaches ``url`` for ``open_count`` connections, then stalls."""
    parts = urlsplit(url)
    loop = asyncio.new_event_loop()
    target = _Gate(parts.hostname or "127.0.0.1", parts.port or 80, open_count)
    server = loop.run_until_complete(asyncio.start_server(target.handle, "127.0.0.1", 0))
    port = server.sockets[0].getsockname()[1]
    thread = threading.Thread(target=loop.run_forever, name="gate", daemon=True)
    thread.start()
    try:
        yield f"ws://127.0.0.1:{port}{parts.path}"
    finally:

        async def shut() -> None:
            server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()
            for writer in target.writers:
                writer.close()
            await asyncio.sleep(0.05)  # let the transports finish closing
            await server.wait_closed()

        asyncio.run_coroutine_threadsafe(shut(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
