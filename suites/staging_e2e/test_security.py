"""What the staging server must refuse, checked with a raw ``websockets`` client.

A connection without a valid token is closed with 4401; a valid user who names another user's
thread or run gets an ``error`` frame with code ``forbidden``, and the owner hears nothing of it.
"""

from __future__ import annotations

import asyncio
import json
import random
import secrets
import time
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from harness.testing import StagingServer as Staging
from harness.users import UserFactory
from harness_backend.auth import mint_token

AUTH_CLOSE_CODE = 4401
#: Upper bound of one check; the server answers in milliseconds on loopback.
BOUND = 20.0


async def _closed_with(url: str, headers: dict[str, str]) -> tuple[int | None, str, list[Any]]:
    """Connect, then read until the server closes; return (code, reason, frames received)."""
    frames: list[Any] = []
    async with asyncio.timeout(BOUND), connect(url, additional_headers=headers) as websocket:
        try:
            while True:
                frames.append(await websocket.recv())
        except ConnectionClosed as closed:
            received = closed.rcvd
            return (
                received.code if received else None,
                received.reason if received else "",
                frames,
            )


def _any_secret(staging: Staging) -> str:
    return staging.secret or secrets.token_urlsafe(48)


@pytest.mark.asyncio
async def test_no_token_is_closed_with_4401(staging: Staging) -> None:
    code, reason, frames = await _closed_with(staging.url, {})
    assert code == AUTH_CLOSE_CODE, (
        f"a connection without a token was closed with code={code} reason={reason!r}, "
        f"expected {AUTH_CLOSE_CODE}; it received {frames!r}"
    )
    assert frames == []


@pytest.mark.asyncio
async def test_forged_signature_is_closed_with_4401(staging: Staging, harness_seed: int) -> None:
    user = UserFactory(random.Random(harness_seed)).user()
    forged = mint_token(user.user_id, secrets.token_urlsafe(48))
    if staging.secret is not None:
        assert forged != mint_token(user.user_id, staging.secret)
    code, reason, frames = await _closed_with(staging.url, {"Authorization": f"Bearer {forged}"})
    assert code == AUTH_CLOSE_CODE, (
        f"{user.user_id} with a token signed by another secret was closed with code={code} "
        f"reason={reason!r}, expected {AUTH_CLOSE_CODE}; it received {frames!r}"
    )
    assert frames == []


@pytest.mark.asyncio
async def test_expired_token_is_closed_with_4401(staging: Staging, harness_seed: int) -> None:
    user = UserFactory(random.Random(harness_seed)).user()
    # A JWT's exp is wall time by definition, so the token is minted an hour in the past.
    expired = mint_token(user.user_id, _any_secret(staging), ttl=60, now=time.time() - 3600)
    code, reason, frames = await _closed_with(staging.url, {"Authorization": f"Bearer {expired}"})
    assert code == AUTH_CLOSE_CODE, (
        f"{user.user_id} with a token expired an hour ago was closed with code={code} "
        f"reason={reason!r}, expected {AUTH_CLOSE_CODE}; it received {frames!r}"
    )
    assert frames == []


async def _open(url: str, user_id: str, secret: str) -> ClientConnection:
    token = mint_token(user_id, secret)
    return await connect(url, additional_headers={"Authorization": f"Bearer {token}"})


async def _until(websocket: ClientConnection, who: str, wanted: Any) -> list[dict[str, Any]]:
    """Read frames until ``wanted(frame)``; return every frame read, the wanted one last."""
    frames: list[dict[str, Any]] = []
    while True:
        try:
            frame = json.loads(await websocket.recv())
        except ConnectionClosed as closed:
            raise AssertionError(
                f"{who}'s connection closed ({closed}); it saw {frames!r}"
            ) from None
        frames.append(frame)
        if wanted(frame):
            return frames


def _chat(thread_id: str, run_id: str, message: str) -> str:
    plan = [{"step": "tool", "name": "echo", "params": {"note": message}}]
    return json.dumps(
        {
            "type": "chat_message",
            "content": message,
            "thread_id": thread_id,
            "run_id": run_id,
            "plan": plan,
        }
    )


@pytest.mark.asyncio
@pytest.mark.parametrize("borrowed", ["thread", "run"])
async def test_token_of_one_user_cannot_use_anothers_thread_or_run(
    staging: Staging, staging_secret: str, harness_seed: int, borrowed: str
) -> None:
    # Ids come from the test's seed (its node id and --harness-seed): each parameter gets its
    # own, since the server remembers who used a thread or run for as long as it runs.
    factory = UserFactory(random.Random(harness_seed))
    owner, intruder = factory.user(), factory.user()
    owner_run = factory.run_id()
    async with asyncio.timeout(BOUND):
        owner_ws = await _open(staging.url, owner.user_id, staging_secret)
        intruder_ws = await _open(staging.url, intruder.user_id, staging_secret)
        try:
            # The owner claims its thread and run by using them.
            await owner_ws.send(_chat(owner.thread_ids[0], owner_run, owner.canaries[0]))
            owned = await _until(
                owner_ws,
                owner.user_id,
                lambda f: (
                    f.get("run_id") == owner_run
                    and f["type"] in ("agent_completed", "agent_error", "error")
                ),
            )
            assert owned[-1]["type"] == "agent_completed", (
                f"{owner.user_id}'s own turn on its own thread ended with {owned[-1]!r}"
            )
            if borrowed == "thread":
                thread_id, run_id = owner.thread_ids[0], factory.run_id()
            else:
                thread_id, run_id = intruder.thread_ids[0], owner_run
            await intruder_ws.send(_chat(thread_id, run_id, intruder.canaries[0]))
            seen = await _until(intruder_ws, intruder.user_id, lambda f: f["type"] == "error")
            error = seen[-1]
            assert error["payload"]["code"] == "forbidden", (
                f"{intruder.user_id} used {owner.user_id}'s {borrowed} "
                f"(thread_id={thread_id}, run_id={run_id}) and got {error!r}, "
                "expected an error frame with code 'forbidden'"
            )
            assert owner.user_id not in json.dumps(seen), (
                f"{intruder.user_id} saw {owner.user_id}'s id in {seen!r}"
            )
            assert all(f["type"] == "error" for f in seen), (
                f"{intruder.user_id}'s refused turn still produced events: {seen!r}"
            )
            # A ping is answered after anything the server queued for the owner before it.
            await owner_ws.send(json.dumps({"type": "ping"}))
            after = await _until(owner_ws, owner.user_id, lambda f: f["type"] == "pong")
            assert after == [{"type": "pong"}], (
                f"{owner.user_id} received frames caused by {intruder.user_id}'s refused "
                f"turn on its {borrowed}: {after[:-1]!r}"
            )
        finally:
            await owner_ws.close()
            await intruder_ws.close()
