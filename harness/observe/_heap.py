"""Collections that cost what the run made, not what the process held before it."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def frozen_heap(*, enabled: bool = True) -> Iterator[None]:
    """Move every object that exists on entry out of the collector's sight until exit.

    A check that objects died collects garbage (``gc.collect``) first; a full collection costs
    time in proportion to the whole heap, which in a big process (a real backend's hundreds of
    modules, a test session) dwarfs the run itself. Frozen objects (``gc.freeze``) are alive by
    definition and are only skipped, so what a collection finds dead among the objects made
    since entry is unchanged. Left alone when someone else froze the heap already: unfreezing
    would undo their freeze.
    """
    if not enabled or gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
