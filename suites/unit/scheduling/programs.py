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


def _cancel_nth(handles: list[asyncio.Handle], index: int) -> None:
    handles[index].cancel()


async def random_program(seed: int, log: list[str], workers: int = 6, actions: int = 12) -> None:
    """A seeded mix of everything a scheduler sees: its shape depends on ``seed`` only.

    Workers yield, sleep on timers, take a lock, wait for an event and a future, spawn children
    through the task factory and around it (``asyncio.Task`` directly: a task the strategy first
    sees ready), queue ``call_soon``/``call_later`` callbacks (some bound to a task, some to a
    finished task), append a plain handle to the ready queue as foreign code would, and cancel
    handles that are already queued. Each worker draws from its own ``random.Random``, so the
    program's choices do not depend on the interleaving, only its output does.
    """
    import random

    loop = asyncio.get_running_loop()
    lock = asyncio.Lock()
    event = asyncio.Event()
    future: asyncio.Future[str] = loop.create_future()
    handles: list[asyncio.Handle] = []
    children: list[asyncio.Task[None]] = []
    finished: list[asyncio.Task[None]] = []

    async def child(name: str, rounds: int) -> None:
        for round_ in range(rounds):
            log.append(f"{name} {round_}")
            await asyncio.sleep(0)

    async def worker(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        for action_number in range(actions):
            action = rng.randrange(11)
            log.append(f"w{index} a{action_number}={action}")
            if action == 0:
                await asyncio.sleep(0)
            elif action == 1:
                await asyncio.sleep(rng.choice((0.1, 0.2, 0.2)))
            elif action == 2:
                async with lock:
                    await asyncio.sleep(0)
            elif action == 3:
                if rng.random() < 0.5:
                    event.set()
                else:
                    await asyncio.wait([asyncio.ensure_future(event.wait())], timeout=0.3)
            elif action == 4:
                if not future.done():
                    loop.call_soon(future.set_result, f"w{index}")
                await asyncio.wait([future], timeout=0.2)
            elif action == 5:
                name = f"c{index}.{action_number}"
                if rng.random() < 0.5:
                    task = loop.create_task(child(name, rng.randrange(1, 4)))
                else:
                    task = asyncio.Task(child(name, rng.randrange(1, 4)), loop=loop, name=name)
                children.append(task)
                task.add_done_callback(finished.append)
            elif action == 6:
                handles.append(loop.call_soon(log.append, f"soon w{index}"))
                handles.append(loop.call_later(0, log.append, f"later w{index}"))
                # Callbacks that cancel a callback queued after them, once both are queued.
                victims: list[asyncio.Handle] = []
                loop.call_soon(_cancel_nth, victims, 0)
                loop.call_later(0, _cancel_nth, victims, 1)
                victims.append(loop.call_soon(log.append, f"victim w{index}"))
                victims.append(loop.call_later(0, log.append, f"victim later w{index}"))
            elif action == 7:
                for handle in handles[-rng.randrange(1, 4) :]:
                    handle.cancel()
                await asyncio.sleep(0)
            elif action == 8:
                current = asyncio.current_task()
                assert current is not None
                handles.append(loop.call_soon(current.get_name))
                if finished:
                    handles.append(loop.call_soon(finished[0].get_name))
            elif action == 9:
                foreign = asyncio.Handle(log.append, (f"foreign w{index}",), loop)
                if rng.random() < 0.5:
                    loop.call_soon(foreign.cancel)  # queued ahead of it: cancels it while queued
                loop._ready.append(foreign)  # type: ignore[attr-defined]
                if rng.random() < 0.5:
                    handles.append(foreign)
            else:
                await asyncio.sleep(0)
                await asyncio.sleep(0)

    await asyncio.gather(*(worker(index) for index in range(workers)))
    await asyncio.gather(*children)
    event.set()
