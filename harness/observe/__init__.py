"""Observation: walks of the live roots a target exposes, at checkpoints during a run.

The :class:`Observer` listens to a run's lifecycle (sessions opened and closed, turns started and
ended, events received) and walks each user's roots at checkpoints; the :class:`Walker` follows
attributes, slots and containers from a root and records where each user's tokens
(:class:`TokenIndex`) were found and which mutable objects were met. What the walks found goes
into the Trace as paths and values, never as live objects.
"""

from __future__ import annotations

from harness.observe._heap import frozen_heap as frozen_heap
from harness.observe._walk_paths import CONTEXT_ROOTS as CONTEXT_ROOTS
from harness.observe._walk_paths import root_key as root_key
from harness.observe._walk_plans import is_library_module as is_library_module
from harness.observe.observer import Observer as Observer
from harness.observe.tokens import TokenIndex as TokenIndex
from harness.observe.walk import Walker as Walker
from harness.observe.walk import WalkResult as WalkResult

__all__ = [
    "CONTEXT_ROOTS",
    "Observer",
    "TokenIndex",
    "WalkResult",
    "Walker",
    "frozen_heap",
    "is_library_module",
    "root_key",
]
