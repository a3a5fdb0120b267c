"""An agent backend that does real I/O: a Redis-protocol store, an HTTP upstream, a thread pool.

Every turn of a user:

1. asks the HTTP upstream ``whoami`` with the tab's session cookie (``aiohttp.ClientSession``,
   one for the process), logging in on the tab's first turn; records the login on the thread
   pool (``run_in_executor``);
2. keeps its session record in the key-value store (``redis.asyncio`` over a
   ``BlockingConnectionPool``): ``SET`` and ``GET`` of the session record, parsed as JSON,
   then a speculative fetch of the user's profile, cancelled once the tab already has it;
3. runs the plan: events per step, tools (``echo`` reports the context the tool runs under);
4. renders a greeting on the thread pool.

Each bug of :data:`BUGS` switches one piece to a version with a known isolation bug:

- ``stale-reply``: the speculative fetch is cancelled mid-read and its connection goes back to
  the pool with the reply unread (redis-py before 4.5.4), so the next caller reads another
  command's reply. The correct variant stops waiting for the fetch and lets it complete.
- ``thread-session``: the turn's context lives in a ``threading.local``, shared by every
  coroutine on the loop's thread.
- ``shared-cookies``: the process-wide HTTP client keeps cookies (``CookieJar``), so a user's
  ``whoami`` carries the cookie of whoever logged in last.
- ``worker-local``: the thread pool keeps the user id of a login job in a thread-local, and the
  render job reads it on whatever thread it lands.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import aiohttp
import redis.asyncio as aioredis

__all__ = [
    "BUGS",
    "Services",
    "TurnContext",
    "current_context",
    "enter_context",
    "reset_module_state",
]

BUGS = frozenset({"stale-reply", "thread-session", "shared-cookies", "worker-local"})


@dataclass(frozen=True, slots=True)
class TurnContext:
    """Who a turn runs for: what tools must see."""

    user_id: str
    run_id: str
    thread_id: str


_CURRENT: contextvars.ContextVar[TurnContext] = contextvars.ContextVar("turn_context")
_THREAD_SESSION = threading.local()  # the thread-session bug's home
_WORKER = threading.local()  # the worker-local bug's home


def reset_module_state() -> None:
    """Forget what a previous target left in this module's thread-locals (on this thread).

    A process that starts the backend again starts it fresh; without this, a buggy variant's
    leftovers are another run's user data to every later run (and the harness says so).
    """
    _THREAD_SESSION.__dict__.clear()
    _WORKER.__dict__.clear()


def enter_context(context: TurnContext, bugs: frozenset[str]) -> None:
    """Make ``context`` the running turn's context."""
    if "thread-session" in bugs:
        _THREAD_SESSION.context = context
    else:
        _CURRENT.set(context)


def current_context(bugs: frozenset[str]) -> TurnContext:
    """The running turn's context, as the code executing a tool sees it."""
    if "thread-session" in bugs:
        context: TurnContext = _THREAD_SESSION.context
        return context
    return _CURRENT.get()


def _remember_login(user_id: str) -> str:
    """A login job on the pool: the buggy variant leaves the user id on the worker thread."""
    _WORKER.user_id = user_id
    return user_id


def _render(user_id: str | None) -> str:
    """A render job on the pool, for ``user_id`` or (buggy) the worker's last login."""
    who = user_id if user_id is not None else getattr(_WORKER, "user_id", None)
    return f"Welcome back, {who}"


class Services:
    """What the backend shares between users: a key-value pool, an HTTP client, a thread pool.

    Meant to be shared: the adapter declares it in ``shared_roots``.
    """

    def __init__(self, kv_port: int, upstream_url: str, bugs: frozenset[str]) -> None:
        self.bugs = bugs
        self.upstream_url = upstream_url
        self.pool = aioredis.BlockingConnectionPool(
            host="127.0.0.1", port=kv_port, max_connections=3, timeout=None
        )
        self.executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="realio")
        self.http: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        jar: aiohttp.abc.AbstractCookieJar = (
            aiohttp.CookieJar(unsafe=True)
            if "shared-cookies" in self.bugs
            else aiohttp.DummyCookieJar()
        )
        self.http = aiohttp.ClientSession(cookie_jar=jar)

    async def stop(self) -> None:
        if self.http is not None:
            await self.http.close()
            self.http = None
        await self.pool.disconnect()
        self.executor.shutdown(wait=True)

    # -- the key-value store ------------------------------------------------------------------

    async def command(self, *args: str, sent: asyncio.Event | None = None) -> Any:
        """One command on a pooled connection; ``sent`` is set once the request is written."""
        connection = await self.pool.get_connection()
        try:
            await connection.send_command(*args)
            if sent is not None:
                sent.set()
            # redis-py discards a connection whose read was interrupted; the stale-reply bug
            # hands it back to the pool with the reply still on its way.
            return await connection.read_response(
                disconnect_on_error="stale-reply" not in self.bugs
            )
        finally:
            # A cancellation must not stop the connection from going back to the pool.
            await asyncio.shield(self.pool.release(connection))

    async def session_record(self, tab: Any, context: TurnContext, canary: str) -> Any:
        """The user's session record, written then read back through the store; then a
        speculative fetch of the user's profile, cancelled when the tab already has it."""
        record = {"user_id": context.user_id, "thread_id": context.thread_id, "note": canary}
        await self.store(f"session:{context.user_id}", json.dumps(record))
        session = json.loads(await self.command("GET", f"session:{context.user_id}"))
        sent = asyncio.Event()
        prefetch = asyncio.ensure_future(
            self.command("GET", f"profile:{context.user_id}", sent=sent)
        )
        await sent.wait()
        if tab.profile is not None:  # the fetch is no longer needed
            if "stale-reply" in self.bugs:
                prefetch.cancel()  # cancels the command mid-read
                with contextlib.suppress(asyncio.CancelledError):
                    await prefetch
            else:
                # Stop waiting, not the command: it completes and frees its connection clean.
                # (Cancelling it would make redis-py drop the connection, whose parser keeps
                # the late reply in its old stream buffer until the next connect.)
                tab.background.add(prefetch)
                prefetch.add_done_callback(tab.background.discard)
            return session
        profile = await prefetch
        if profile is None:
            profile = f"profile of {context.user_id}: {canary}"
            await self.store(f"profile:{context.user_id}", profile)
        tab.profile = profile if isinstance(profile, str) else profile.decode()
        return session

    async def store(self, key: str, value: str) -> None:
        """``SET key value``, checking the reply."""
        reply = await self.command("SET", key, value)
        if reply not in (b"OK", "OK"):
            raise RuntimeError(f"SET {key} answered {reply!r}, expected OK")

    # -- the HTTP upstream --------------------------------------------------------------------

    async def whoami(self, tab: Any, user_id: str) -> Any:
        """Ask the upstream who is calling, logging in first on the tab's first turn."""
        http = self.http
        assert http is not None, "services not started"
        if not tab.cookie:
            body = {"user_id": user_id}
            async with http.post(f"{self.upstream_url}/login", json=body) as reply:
                tab.cookie = f"sid={reply.cookies['sid'].value}"
                await reply.read()
        headers = {} if "shared-cookies" in self.bugs else {"Cookie": tab.cookie}
        async with http.get(f"{self.upstream_url}/whoami", headers=headers) as reply:
            return (await reply.json())["user_id"]

    # -- the thread pool ----------------------------------------------------------------------

    async def login_job(self, user_id: str) -> None:
        """Record the login on the thread pool (a job at the start of every turn)."""
        await asyncio.get_running_loop().run_in_executor(self.executor, _remember_login, user_id)

    async def greeting(self, user_id: str) -> str:
        """A greeting rendered on the thread pool (a job at the end of every turn)."""
        explicit = None if "worker-local" in self.bugs else user_id
        return await asyncio.get_running_loop().run_in_executor(self.executor, _render, explicit)
