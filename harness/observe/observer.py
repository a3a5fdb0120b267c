"""Watching live objects while a scenario runs: walks, checkpoints and the retention check.

The runner tells the :class:`Observer` when sessions open and close, when turns start and end,
and hands it every event as it arrives. The observer walks the roots the target exposes and
records what the walks found (paths and values, never the objects) as
:class:`~harness.model.Checkpoint` records, keeps only *weak* references to the root objects,
and after every session closed checks that those objects became garbage and that no user data
is still reachable from the shared roots.

Two kinds of walks:

* per-session walks while a tool runs (on ``tool_executing`` events): what this user's
  objects hold at that moment. (Walks on ``agent_started`` were dropped: at that instant the
  engine is fresh and the next ``tool_executing`` walk sees everything it would, at a tenth
  of the cost of a 1,000-user run; see docs/performance.md);
* global checkpoints, every ``checkpoint_interval`` loop seconds while turns run: every open
  session walked at one instant (no await in between), so object identities can be compared
  across users. Everything a checkpoint compares (the roots mappings and every mutable object
  its walks met) is held strongly until the comparison is done, and released right after:
  an id is only compared while its object is alive, so fresh containers returned by
  ``roots()`` cannot pass for one object shared by two users.
"""

from __future__ import annotations

import asyncio
import gc
import re
import sys
import types
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from harness.model import Checkpoint, FoundValue, RetentionRecord, RootWalk
from harness.observe._walk_paths import CONTEXT_ROOTS
from harness.observe._walk_shared import shared_between
from harness.observe.tokens import TokenIndex
from harness.observe.walk import Walker, WalkResult

__all__ = ["Observer", "ObserverStatistics"]

_WALK_ON = frozenset({"tool_executing"})
#: Top-level packages whose module globals are never the target's state.
_NOT_TARGET = frozenset({"harness", "builtins", "__main__", "_pytest", "pytest", "pluggy"})
_CONTAINERS = (dict, list, tuple)


def _class_state(prefix: str, klass: type) -> dict[str, object]:
    """What a class body holds that can keep data: class attributes, and its functions (for
    their default arguments and closures) and cached functions, static and class methods
    unwrapped. Properties and other descriptors are code, not state."""
    state: dict[str, object] = {}
    for name, value in list(vars(klass).items()):
        if name.startswith("__"):
            continue
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        elif isinstance(value, (property, types.MemberDescriptorType, types.GetSetDescriptorType)):
            continue
        if not isinstance(value, (type, types.ModuleType)):
            state[f"{prefix}.{name}"] = value
    return state


_POSITION = re.compile(r"\[\d+\]|\{(?:key|set item|cache key|cache value) \d+\}")


_POSITIONLESS_LIMIT = 200_000  # paths remembered without their positions, cleared past this


def _positionless(path: str) -> str:
    """A path without list positions: a value that moved in a bounded history is not new."""
    return _POSITION.sub("[#]", path)


def _stale_under(watched: _Watched) -> frozenset[str]:
    """Where a run id of the user that is not running is worth a walk: the context roots, while
    exactly one run is active on the tab (the context-mismatch oracle's question); nowhere
    otherwise. (The walk, once it runs, still records them all.)"""
    return CONTEXT_ROOTS if len(watched.active) == 1 else frozenset()


class ObserverStatistics:
    """Counts of what the observer did (read by ``harness bench`` and the run stats)."""

    __slots__ = ("checkpoints", "objects_visited", "walks", "walks_truncated")

    def __init__(self) -> None:
        self.walks = 0
        self.checkpoints = 0
        self.objects_visited = 0
        #: Walks that hit the walker's budget (objects or depth) and stopped there: what lies
        #: beyond was not looked at, and the reports say so (never a silent pass).
        self.walks_truncated = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "walks": self.walks,
            "checkpoints": self.checkpoints,
            "objects_visited": self.objects_visited,
            "walks_truncated": self.walks_truncated,
        }


class _Ref(weakref.ref):  # type: ignore[type-arg]
    """A weak reference that knows the id of its object (one callback for all of them)."""

    __slots__ = ("ident",)
    ident: int


class _Watched:
    __slots__ = ("active", "session", "session_id", "user_id")

    def __init__(self, session_id: str, user_id: str, session: Any) -> None:
        self.session_id = session_id
        self.user_id = user_id
        self.session = session
        # run id -> how many of its attempts run on this tab (a retry may overlap the first).
        self.active: dict[str, int] = {}


class Observer:
    """Walks a target's live roots for the runner. Disabled, it records nothing and costs nothing.

    Args:
        index: every harness-generated token and its owner.
        shared_roots: the target's declared shared infrastructure (walk boundaries).
        opaque: adapter scaffolding the walks must not enter.
        clock: the loop's time.
        next_step: the runner's global step counter.
        enabled: False for black-box targets or a run with detectors off.
        max_checkpoints: bound on global checkpoints per run.
    """

    def __init__(
        self,
        index: TokenIndex,
        *,
        shared_roots: Mapping[str, object],
        opaque: Iterable[object] = (),
        clock: Callable[[], float],
        next_step: Callable[[], int],
        enabled: bool = True,
        max_checkpoints: int = 24,
    ) -> None:
        self.index = index
        self.enabled = enabled
        self.statistics = ObserverStatistics()
        self.checkpoints: list[Checkpoint] = []
        self._clock = clock
        self._next_step = next_step
        self._max_checkpoints = max_checkpoints
        self._sessions: dict[str, _Watched] = {}
        self._shared = dict(shared_roots)
        self._opaque = tuple(opaque)
        self._walker = Walker(index, boundaries=self._shared.values(), opaque=self._opaque)
        # Root objects seen in walks, by owner, held weakly: id -> (owner, path, ref).
        self._watched: dict[int, tuple[str, str, _Ref]] = {}
        self._unweakable: set[str] = set()
        # Modules of the classes of the roots met, then of the shared roots: the target's code.
        self._root_modules: set[str] = {type(obj).__module__ for obj in self._shared.values()}
        # Values already stored, as (owner, active runs) -> {(path, value)} (paths without
        # list positions): a checkpoint stores what it found that no earlier walk of that owner
        # stored in the same state, not copies. The walker asks it (``known``) before it
        # builds a FoundValue: a shared graph offers the same values on every walk.
        self._stored: dict[tuple[str, tuple[str, ...]], set[tuple[str, str]]] = {}
        self._positionless: dict[str, str] = {}
        self._sites_stored: set[str] = set()
        # Owners whose sweep once found something to walk for: walked at once from then on.
        self._walked_only: set[str] = set()
        self._sweep_checkpoints = True

    # ------------------------------------------------------------------ lifecycle
    def session_opened(self, session_id: str, user_id: str, session: Any) -> None:
        if self.enabled:
            self._sessions[session_id] = _Watched(session_id, user_id, session)

    def session_closed(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)

    def turn_started(self, session_id: str, run_id: str) -> None:
        watched = self._sessions.get(session_id)
        if watched is not None:
            watched.active[run_id] = watched.active.get(run_id, 0) + 1

    def turn_ended(self, session_id: str, run_id: str) -> None:
        watched = self._sessions.get(session_id)
        if watched is not None:
            left = watched.active.get(run_id, 0) - 1
            if left > 0:
                watched.active[run_id] = left
            else:
                watched.active.pop(run_id, None)

    def on_event(self, session_id: str, event_type: str, step: int) -> None:
        """Walk this session's roots when a tool starts running."""
        if event_type not in _WALK_ON:
            return
        watched = self._sessions.get(session_id)
        if watched is None:
            return
        roots = watched.session.roots()
        if not roots:
            return
        visited = self._sweep(watched, roots)
        if visited is not None:  # nothing the walk would report: no paths to build
            self._account(watched, roots, visited, truncated=False)
            return
        self._walked_only.add(watched.user_id)
        result = self._walker.walk(
            roots,
            owner=watched.user_id,
            active_runs=watched.active,
            known=self._known(watched),
        )
        self._account(watched, roots, result.visited, result.truncated)
        if result.values:
            walk = self._root_walk(watched, result)
            if walk.values:
                self._record(f"event:{event_type}", step, (walk,), ())

    # ------------------------------------------------------------------ global checkpoints
    def checkpoint(self, label: str) -> Checkpoint | None:
        """Walk every open session at this instant and compare identities across users."""
        if not self.enabled or len(self.checkpoints) >= 10_000:
            return None
        results: dict[str, WalkResult] = {}
        walks: list[RootWalk] = []
        # Identities are compared across walks, so what the walks met must stay alive until
        # the comparison is done: a roots() that builds fresh containers on each call
        # (``{"agents": dict(...)}``) lets them die as soon as the next session is asked, and
        # CPython hands their ids to the next user's fresh containers, which then look like
        # one object reachable from two users (issue 12). ``sessions`` keeps every roots
        # mapping, ``pins`` every mutable object met, for the duration of this checkpoint only.
        pins: dict[int, object] = {}
        # One instant, no await in between: an object reachable from many users is entered
        # once, by the first walk that meets it (see Walker.walk, ``claimed``).
        claimed: dict[int, object] = {}
        sessions: list[tuple[_Watched, Mapping[str, object]]] = []
        for watched in self._sessions.values():
            roots = watched.session.roots()
            if roots:
                sessions.append((watched, roots))
        if self._sweep_checkpoints and self._swept(sessions):
            self.statistics.checkpoints += 1
            return None
        for watched, roots in sessions:
            result = self._walker.walk(
                roots,
                keep_alive=pins,
                owner=watched.user_id,
                active_runs=watched.active,
                claimed=claimed,
                known=self._known(watched),
            )
            self._account(watched, roots, result.visited, result.truncated)
            # Several tabs of one user are one owner: merge by user, first tab wins the path.
            key = watched.user_id
            if key in results:
                merged = results[key]
                for ident, entry in result.mutable.items():
                    merged.mutable.setdefault(ident, entry)
            else:
                results[key] = result
            if result.values:  # a RootWalk only for the rare walk that found something
                walks.append(self._root_walk(watched, result))
        shared = shared_between(results, keep_alive=pins) if len(results) > 1 else ()
        # The pins last one checkpoint: nothing of a user outlives it here.
        del pins, claimed, sessions
        self.statistics.checkpoints += 1
        kept = tuple(w for w in walks if w.values)
        if not kept and not shared:
            return None
        return self._record(label, self._next_step(), kept, shared)

    async def periodic(self, interval: float, busy: Callable[[], bool]) -> None:
        """Take a global checkpoint every ``interval`` loop seconds while ``busy()``."""
        if not self.enabled or interval <= 0:
            return
        taken = 0
        while True:
            await asyncio.sleep(interval)
            if not busy():
                continue
            self.checkpoint("periodic")
            taken += 1
            if taken % self._max_checkpoints == 0:
                interval *= 2  # long runs: fewer, sparser checkpoints keep the cost bounded

    # ------------------------------------------------------------------ retention
    def retention(self) -> RetentionRecord:
        """After every session closed: which user roots are still alive, and what holds them."""
        if not self.enabled:
            return RetentionRecord(
                alive={}, shared_values=(), checked=False, note="roots not observed"
            )
        self._sessions.clear()
        for _ in range(3):
            if gc.collect() == 0:
                break
        alive: dict[str, list[str]] = {}
        survivors: dict[int, str] = {}
        for owner, path, ref in self._watched.values():
            obj = ref()
            if obj is None:
                continue
            alive.setdefault(owner, []).append(path)
            survivors[id(obj)] = f"{owner}:{path}"
            del obj
        module_roots = self._module_globals()
        reachable: dict[str, str] = {}
        if survivors:
            objects = [ref() for _, _, ref in self._watched.values()]
            found = self._shared_walker().find_paths(
                {**self._shared, **module_roots}, [o for o in objects if o is not None]
            )
            del objects
            for ident, shared_path in found.items():
                if ident in survivors:
                    reachable[survivors[ident]] = shared_path
        shared_walk = self._shared_walker().walk(self._shared)
        # Module-level state is shared by every user whether or not it was declared: a cache or
        # a log at module level that still holds user data after close is retention too. The
        # shared roots are boundaries here: what they hold was reported just above.
        module_walk = Walker(
            self.index, boundaries=self._shared.values(), opaque=self._opaque
        ).walk(module_roots)
        del module_roots
        note = ""
        if self._unweakable:
            note = "not weak-referenceable, not checked: " + ", ".join(sorted(self._unweakable))
        return RetentionRecord(
            alive={owner: tuple(paths) for owner, paths in alive.items()},
            shared_values=shared_walk.values,
            module_values=module_walk.values,
            reachable=reachable,
            checked=True,
            note=note,
        )

    def _module_globals(self) -> dict[str, object]:
        """The module-level state of the target's code, as walk roots named ``module.name``.

        The target's code is every loaded module of the packages that define the classes of
        the roots the walks met (``harness_backend.engine`` -> every ``harness_backend.*``
        module), less the standard library and the harness. Of each, the globals that can hold
        state (not modules
        or dunder names), and what the classes defined there hold in their bodies.
        """
        packages = {name.rpartition(".")[0] or name for name in self._root_modules}
        tops = {package.partition(".")[0] for package in packages}
        tops -= _NOT_TARGET | sys.stdlib_module_names
        # A test session or a big service has thousands of modules: pick by top-level name first.
        loaded = sorted(name for name in list(sys.modules) if name.partition(".")[0] in tops)
        roots: dict[str, object] = {}
        for module_name in loaded:
            module = sys.modules.get(module_name)
            if module is None:
                continue
            if not any(module_name == p or module_name.startswith(p + ".") for p in packages):
                continue
            for name, value in list(vars(module).items()):
                if name.startswith("__") or isinstance(value, types.ModuleType):
                    continue
                if isinstance(value, type):
                    if value.__module__ == module_name:  # defined here, not imported
                        roots.update(_class_state(f"{module_name}.{name}", value))
                    continue
                roots[f"{module_name}.{name}"] = value
        return roots

    # ------------------------------------------------------------------ internals
    def _shared_walker(self) -> Walker:
        return Walker(self.index, opaque=self._opaque)

    def _swept(self, sessions: list[tuple[_Watched, Mapping[str, object]]]) -> bool:
        """Sweep every session of a checkpoint (:meth:`Walker.sweep`): True when no walk would
        report anything, so the checkpoint has nothing to record.

        The sweeps share ``claimed`` and pin what they met, as the checkpoint's walks do: an
        object two owners reach is a reason to walk. On the first checkpoint that needs its
        walks, later ones walk at once (a leak found once is usually there again).
        """
        claimed: dict[int, object] = {}
        pins: list[object] = []
        counts: list[int] = []
        for watched, roots in sessions:
            visited = self._sweep(watched, roots, claimed=claimed, pins=pins)
            if visited is None:
                self._sweep_checkpoints = False
                return False
            counts.append(visited)
        for (watched, roots), visited in zip(sessions, counts, strict=True):
            self._account(watched, roots, visited, truncated=False)
        return True

    def _sweep(
        self,
        watched: _Watched,
        roots: Mapping[str, object],
        claimed: dict[int, object] | None = None,
        pins: list[object] | None = None,
    ) -> int | None:
        """:meth:`Walker.sweep` of one session: None when its walk has something to say, or
        when its owner's walks skip the sweep since one found something."""
        if watched.user_id in self._walked_only:
            return None
        return self._walker.sweep(
            roots,
            owner=watched.user_id,
            active_runs=watched.active,
            claimed=claimed,
            pins=pins,
            stale_under=_stale_under(watched),
        )

    def _account(
        self, watched: _Watched, roots: Mapping[str, object], visited: int, truncated: bool
    ) -> None:
        self.statistics.walks += 1
        self.statistics.objects_visited += visited
        if truncated:
            self.statistics.walks_truncated += 1
        known = self._watched  # most roots were watched by an earlier walk: no path built
        for name, obj in roots.items():
            if isinstance(obj, _CONTAINERS):
                items = obj.items() if isinstance(obj, dict) else enumerate(obj)
                for key, item in items:
                    if id(item) not in known:
                        self._watch(watched.user_id, f"{name}[{key!r}]", item)
            elif id(obj) not in known:
                self._watch(watched.user_id, name, obj)

    def _watch(self, owner: str, path: str, obj: object) -> None:
        ident = id(obj)
        if ident in self._watched or obj is None or isinstance(obj, (str, int, float, bool)):
            return
        self._root_modules.add(type(obj).__module__)
        try:
            ref = _Ref(obj, self._forget)
        except TypeError:
            self._unweakable.add(type(obj).__name__)
            return
        ref.ident = ident
        self._watched[ident] = (owner, path, ref)

    def _forget(self, ref: _Ref) -> None:
        entry = self._watched.get(ref.ident)
        if entry is not None and entry[2] is ref:
            del self._watched[ref.ident]

    def _known(self, watched: _Watched) -> Callable[[str, str], bool] | None:
        """``(path, value) -> already stored for this owner in its present state``."""
        stored = self._stored.get((watched.user_id, tuple(watched.active)))
        if stored is None:
            return None
        positionless = self._path_key

        def known(path: str, value: str) -> bool:
            return (positionless(path), value) in stored

        return known

    def _path_key(self, path: str) -> str:
        key = self._positionless.get(path)
        if key is None:
            if len(self._positionless) >= _POSITIONLESS_LIMIT:
                self._positionless.clear()
            key = self._positionless[path] = _positionless(path)
        return key

    def _root_walk(self, watched: _Watched, result: WalkResult) -> RootWalk:
        active = tuple(watched.active)
        stored = self._stored.setdefault((watched.user_id, active), set())
        values = tuple(
            self._site_once(found)
            for found in self._relevant(watched, result.values)
            if self._first_time(stored, (self._path_key(found.path), found.value))
        )
        return RootWalk(
            owner=watched.user_id,
            session_id=watched.session_id,
            active_runs=tuple(watched.active),
            values=values,
            visited=result.visited,
            truncated=result.truncated,
        )

    def _site_once(self, found: FoundValue) -> FoundValue:
        # A code site is stored with the first value that names it: the detectors need it once
        # per cause, and repeated on every value it was a third of a fault run's trace.
        if not found.site or found.site not in self._sites_stored:
            self._sites_stored.add(found.site)
            return found
        return FoundValue(path=found.path, value=found.value)

    @staticmethod
    def _first_time(stored: set[tuple[str, str]], key: tuple[str, str]) -> bool:
        # The detectors judge a value by its owner, path, token and the runs active then
        # (foreign-data keeps the first sighting, context-mismatch one per active run): a
        # repeat at a later checkpoint adds nothing but size to the trace. ``stored`` is the
        # set of the owner and its active runs, ``key`` the (path, value).
        if key in stored:
            return False
        stored.add(key)
        return True

    def _relevant(
        self, watched: _Watched, values: tuple[FoundValue, ...]
    ) -> tuple[FoundValue, ...]:
        """Keep the values that carry another user's token or another run's id.

        A user's own data is everywhere in its own graph; keeping it would cost memory in
        proportion to every walk and tell the detectors nothing.
        """
        keep = []
        for found in values:
            for token, owner in self.index.scan(found.value):
                if owner != watched.user_id or (
                    self.index.kind(token) == "run_id" and token not in watched.active
                ):
                    keep.append(found)
                    break
        return tuple(keep)

    def _record(
        self, label: str, step: int, walks: tuple[RootWalk, ...], shared: tuple[Any, ...]
    ) -> Checkpoint:
        checkpoint = Checkpoint(
            index=len(self.checkpoints),
            label=label,
            t=self._clock(),
            step=step,
            walks=walks,
            shared=shared,
        )
        self.checkpoints.append(checkpoint)
        return checkpoint
