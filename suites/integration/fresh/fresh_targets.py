"""A target that asks for a fresh process per seed, and remembers where it ran.

Module-level state outlives a Target in one process (a cache, a registry, a log): such a
backend declares ``requires_fresh_process = True``, and every run of it (``harness run`` per
seed, each explore try, each shrink candidate, a replay) happens in a process of its own.
"""

from __future__ import annotations

import os

from suites.integration.kit.kit_targets import FreshRootsTarget

__all__ = ["STARTS", "FreshProcessTarget"]

#: The process id of every start() of a FreshProcessTarget in this process.
STARTS: list[int] = []


class FreshProcessTarget(FreshRootsTarget):
    name = "fresh-process"
    requires_fresh_process = True

    async def start(self) -> None:
        STARTS.append(os.getpid())
        await super().start()
