"""Small asyncio programs the scheduling tests run under several loops and strategies."""

from __future__ import annotations

import asyncio


async def racy_counter() -> int:
    """Check-then-act with an await in between; returns the counter (1 is correct, 2 is a race).

    The second worker starts one step after the first, so in stock (fifo) order the first worker
    has acted before the second checks. Another order lets both pass the check.
    """
    counter = 0

    async def worker() -> None:
        nonlocal counter
        if counter < 1:
            await asyncio.sleep(0)
            counter += 1

    first = asyncio.create_task(worker())
    await asyncio.sleep(0)
    second = asyncio.create_task(worker())
    await asyncio.gather(first, second)
    return counter


async def chatter(log: list[str], workers: int = 4, rounds: int = 5) -> None:
    """Workers that interleave on sleep(0), a shared lock and two equal timers."""
    lock = asyncio.Lock()

    async def worker(index: int) -> None:
        for round_ in range(rounds):
            log.append(f"w{index} r{round_}")
            await asyncio.sleep(0)
            if round_ == 2:
                async with lock:
                    log.append(f"w{index} locked")
                    await asyncio.sleep(0)
            if round_ == 3:
                await asyncio.sleep(0.5 * (index % 2))

    await asyncio.gather(*(worker(index) for index in range(workers)))


async def stock_sample(log: list[str]) -> None:
    """Queues, events, locks, futures, call_soon and task groups; one timer pending at a time.

    Its order does not depend on wall time, so the stock loop orders it the same on every run.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[int | None] = asyncio.Queue(maxsize=2)
    event = asyncio.Event()
    lock = asyncio.Lock()

    async def producer() -> None:
        for item in range(5):
            log.append(f"put {item}")
            await queue.put(item)
        await queue.put(None)
        log.append("producer done")

    async def consumer(name: str) -> None:
        while True:
            item = await queue.get()
            if item is None:
                await queue.put(None)
                log.append(f"{name} done")
                return
            async with lock:
                log.append(f"{name} got {item}")
                await asyncio.sleep(0)

    async def waiter(name: str) -> None:
        await event.wait()
        log.append(f"{name} woke")

    future: asyncio.Future[str] = loop.create_future()
    loop.call_soon(log.append, "call_soon 1")
    loop.call_soon(future.set_result, "resolved")
    loop.call_soon(log.append, "call_soon 2")
    async with asyncio.TaskGroup() as group:
        group.create_task(waiter("a"))
        group.create_task(waiter("b"))
        group.create_task(producer())
        group.create_task(consumer("c1"))
        group.create_task(consumer("c2"))
        log.append(f"future {await future}")
        event.set()
        log.append("event set")
    await asyncio.sleep(0.001)
    log.append("after timer")
    results = await asyncio.gather(asyncio.sleep(0, "x"), asyncio.sleep(0, "y"))
    log.append(f"gathered {results}")
