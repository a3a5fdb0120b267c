"""An HTTP/1.1 upstream on 127.0.0.1 (``asyncio.start_server``): logins by cookie.

``POST /login`` with ``{"user_id": ...}`` answers ``Set-Cookie: sid=<n>``; ``GET /whoami``
answers ``{"user_id": ...}`` for the ``sid`` cookie it receives (``null`` without one). It
stands for any service a backend calls per user with a session cookie. Keep-alive, so a client
pool reuses connections.
"""

from __future__ import annotations

import asyncio
import json

__all__ = ["Upstream"]


class Upstream:
    """The upstream service; :meth:`start` binds a free port, :meth:`stop` closes it."""

    def __init__(self) -> None:
        self.port = 0
        self._logins: dict[str, str] = {}
        self._handlers: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.close()  # the handler reads EOF and returns
        await asyncio.gather(*self._handlers, return_exceptions=True)
        self._logins.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self._writers.add(writer)
        try:
            while True:
                request = await reader.readline()
                if not request:
                    return
                method, path, _ = request.decode().split(" ", 2)
                headers: dict[str, str] = {}
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, value = line.decode().split(":", 1)
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                status, extra, payload = self._route(method, path, headers, body)
                data = json.dumps(payload).encode()
                writer.write(
                    f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(data)}\r\n{extra}Connection: keep-alive\r\n\r\n".encode()
                    + data
                )
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self._handlers.discard(task)
            self._writers.discard(writer)
            writer.close()

    def _route(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[str, str, object]:
        if method == "POST" and path == "/login":
            user_id = json.loads(body)["user_id"]
            sid = f"s{len(self._logins) + 1}"
            self._logins[sid] = user_id
            return "200 OK", f"Set-Cookie: sid={sid}; Path=/\r\n", {"ok": True}
        if method == "GET" and path == "/whoami":
            cookies = dict(
                part.strip().split("=", 1)
                for part in headers.get("cookie", "").split(";")
                if "=" in part
            )
            return "200 OK", "", {"user_id": self._logins.get(cookies.get("sid", ""))}
        return "404 Not Found", "", {"error": path}
