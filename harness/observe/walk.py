"""Walking live object graphs from a user's roots, by identity, bounded.

The harness's eyes on a target in the same process. A :class:`Walker` starts from named roots
(``engine``, ``context``, ``agents``...) and follows instance attributes (``__dict__``),
``__slots__`` over the MRO, containers (dict keys and values, list, tuple, set, frozenset,
deque, the mapping inside a ``MappingProxyType``, read-only: seen through the view it does not
count as shared), a bound method's ``__self__``, a plain function's closure cells and default
arguments (a memo closed over by a callback is state like any dict), an ``lru_cache``'s keys and
(unbounded) results, a ``threading.local``'s attributes for the walking thread, logging handlers
and adapters (an audit handler's lines, a ``MemoryHandler``'s records, an adapter's ``extra``),
and the class-level attributes of the classes it meets (a class-level dict is shared by every
instance). Bytes, bytearrays and arrays are scanned like strings (decoded as Latin-1); a
bytearray, an array or an unhashable C object counts as mutable even where the walk cannot read
inside it. It stops at boundaries (the target's shared roots) and skips modules, code, types,
immutable scalars, weak references and opaque infrastructure (event loops, futures and tasks,
coroutines, generators, frames, locks, loggers and the logging tree, formatters, I/O, and
whatever the caller lists).

Strings are not followed but scanned: every string met (values and dict keys) that carries a
harness token is recorded as a :class:`~harness.model.FoundValue` with its path, written like
code from the root name: ``engine.execution_registry._runs["run_ab12..."].request.message``,
``engine.tools[2]``, ``{set item 0}``, ``x{key 3}`` (the fourth key of dict ``x``),
``engine.memo{closure seen}`` (a closure cell), ``f{default cache}`` (a default argument),
``f{cache key 0}`` / ``f{cache value 0}`` (an lru_cache entry) and ``ScriptedAgent._instances``
for class-level attributes.

The walk is breadth first (the first path to an object is a shortest one) and deterministic:
dict and list order, set elements ordered by a stable key, never by ``id()`` or hash.

Identities: a :class:`WalkResult` keeps object ids, never objects. Ids only mean something while
their objects live, so compare results taken at one instant (one checkpoint, no ``await``
between the walks), or pass a ``keep_alive`` dict that pins the objects in between.
"""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Callable, Container, Iterable, Mapping
from typing import Any, Literal

from harness.errors import UsageError
from harness.model import FoundValue
from harness.observe._walk_paths import (
    MAX_VALUE_CHARS,
    found_values,
    key_text,
    root_key,
    stable_key,
)
from harness.observe._walk_plans import (
    _PLANS,
    CONTAINER_BUFFER,
    CONTAINER_CACHE,
    CONTAINER_CONTEXT,
    CONTAINER_FUNCTION,
    CONTAINER_MAPPING,
    CONTAINER_METHOD,
    CONTAINER_PROXY,
    CONTAINER_SEQUENCE,
    CONTAINER_SET,
    CONTAINER_THREAD_LOCAL,
    MAX_BUFFER_BYTES,
    SCAN,
    SKIP,
    SWEEP_APART,
    SWEEP_DICT,
    SWEEP_MAPPING,
    SWEEP_REFERENTS,
    SWEEP_WALK,
    TypePlan,
    buffer_text,
    cached_results,
    class_values,
    display_name,
    function_state,
    plan_for,
    thread_local_attributes,
)
from harness.observe._walk_sites import attribute_site
from harness.observe.tokens import TokenIndex

__all__ = [
    "MAX_BUFFER_BYTES",
    "MAX_VALUE_CHARS",
    "WalkResult",
    "Walker",
    "buffer_text",
    "function_state",
]

_MEMO_LIMIT = 200_000  # strings remembered per walker (scan verdicts), cleared past this
_MEMO_MAX_LEN = 512  # longer strings are scanned every time, never remembered
_LEAVES = frozenset({int, float, bool, type(None)})
_ID_KINDS = frozenset({"user_id", "thread_id", "run_id", "canary"})  # fixed-shape tokens
_NOBODY = object()  # compared with string signatures: equal to none
#: What the walker remembers of a string: False (no token) or (sole owner or None, run ids).
_Hit = tuple[str | None, tuple[str, ...]] | Literal[False]


def _inactive(runs: tuple[str, ...], active_runs: Container[str]) -> bool:
    """Whether one of the run ids ``runs`` is not among ``active_runs``."""
    for run_id in runs:  # noqa: SIM110 (a loop: no generator per call)
        if run_id not in active_runs:
            return True
    return False


class WalkResult:
    """What one walk found: paths and values, and the ids (never the objects) it met.

    Attributes:
        values: every string carrying a token, with its path, in walk order.
        mutable: ``id(obj) -> (path, type name)`` for every mutable object met.
        visited: how many objects were walked (strings and skipped values not counted).
        truncated: the walk hit ``max_objects`` or ``max_depth`` and stopped early there.
    """

    __slots__ = ("mutable", "truncated", "values", "visited")

    def __init__(
        self,
        values: tuple[FoundValue, ...],
        mutable: dict[int, tuple[str, str]],
        visited: int,
        truncated: bool,
    ) -> None:
        self.values = values
        self.mutable = mutable
        self.visited = visited
        self.truncated = truncated

    def keep_alive_free(self) -> None:
        """Do nothing: a WalkResult holds ids only, never objects, so it keeps nothing alive.

        Present so callers can state that intent; pins are the ``keep_alive`` dict the caller
        passed to :meth:`Walker.walk`, released by dropping that dict.
        """

    def __repr__(self) -> str:
        return (
            f"WalkResult(values={len(self.values)}, mutable={len(self.mutable)}, "
            f"visited={self.visited}, truncated={self.truncated})"
        )


class Walker:
    """Walks object graphs from named roots (see the module docstring for the rules).

    Args:
        index: the tokens to look for in strings.
        boundaries: objects the walk stops at (the target's shared roots), by identity.
        opaque: objects the walk never enters (adapter scaffolding), by identity.
        max_objects: at most this many objects per walk.
        max_depth: objects further than this from a root are not walked.

    The walker holds its boundaries and opaque objects (so their ids stay theirs): drop it
    before checking that user objects became garbage if those lists hold per-user objects.
    """

    def __init__(
        self,
        index: TokenIndex,
        *,
        boundaries: Iterable[object] = (),
        opaque: Iterable[object] = (),
        max_objects: int = 50_000,
        max_depth: int = 32,
    ) -> None:
        if max_objects < 1:
            raise UsageError(f"max_objects={max_objects!r}: expected an int >= 1.")
        if max_depth < 0:
            raise UsageError(f"max_depth={max_depth!r}: expected an int >= 0.")
        self._index = index
        self._pinned = (*boundaries, *opaque)
        self._stop = frozenset(id(obj) for obj in self._pinned)
        self._max_objects = max_objects
        self._max_depth = max_depth
        self._memo: dict[str, _Hit] = {}
        # owner -> the classifier's verdict for "only this owner's tokens, no run id".
        self._verdicts: dict[str | None, _Hit] = {}
        self._key_texts: dict[str, str] = {}  # str dict key -> how it appears in paths
        self._memo_size = -1
        self._classify: Callable[[str], _Hit] = self._classifier()

    def walk(
        self,
        roots: Mapping[str, object],
        *,
        keep_alive: dict[int, object] | None = None,
        owner: str | None = None,
        active_runs: Container[str] = (),
        claimed: dict[int, object] | None = None,
        known: Callable[[str, str], bool] | None = None,
    ) -> WalkResult:
        """Walk from ``roots`` (name -> object); the names start the paths.

        When ``keep_alive`` is given, every mutable object met is stored in it by id, so ids
        stay valid until the caller drops the dict (pass it to :func:`shared_between`).

        With ``owner``, only strings worth reporting about that owner become values: those
        carrying another owner's token, or a run id of the owner that is not in
        ``active_runs``. A user's own data is everywhere in its own graph; building a
        FoundValue for each of them on every walk is most of a walk's cost and tells the
        detectors nothing.

        ``claimed`` is shared by the walks of one checkpoint (one instant): it maps the id of
        every object walked to the owner whose walk entered it first. A later walk that meets
        an object another owner already entered records it (so :func:`shared_between` sees it
        shared) but does not enter it again: what is inside was walked once, by the first
        owner, and a graph reachable from every user costs one walk, not one per user.

        ``known(path, value)`` says the caller already holds that value at that path (the
        observer's store of earlier walks): such a value is left out of ``values`` before a
        FoundValue (or the site of its attribute) is built. A shared graph met on every walk
        offers the same values again and again; only the new ones cost a record.
        """
        return self._walk(roots, None, keep_alive, owner, active_runs, claimed, known)[0]

    def find_paths(self, roots: Mapping[str, object], targets: Iterable[object]) -> dict[int, str]:
        """``id(target) -> first path from roots`` for each target the walk reaches.

        Same rules as :meth:`walk`; for retention: why is this engine still alive? Targets the
        walk skips (functions, types, scalars, strings) are never reported.
        """
        wanted = {id(target) for target in targets}
        if not wanted:
            return {}
        return self._walk(roots, wanted, None, None, ())[1]

    def sweep(
        self,
        roots: Mapping[str, object],
        *,
        owner: str,
        active_runs: Container[str] = (),
        claimed: dict[int, object] | None = None,
        pins: list[object] | None = None,
        stale_under: Container[str] | None = None,
    ) -> int | None:
        """The quick look before a walk: how many objects a walk of ``roots`` would meet, or
        None when :meth:`walk` has something to say.

        A walk builds a path for every object it meets, because what it finds must be named.
        Most walks of a correct target find nothing, so the sweep first goes over the same
        objects without paths, a level at a time: instances' ``__dict__`` values, dicts' keys
        and values, what read-only views show, and the contents of sequences, sets and slotted
        objects with one ``gc.get_referents`` call per level (C code: no attribute lookup,
        nothing of the target runs). It reads at least what the walk reads, and answers None,
        so that the caller walks, as soon as it meets:

        * a string worth reporting about ``owner`` (another owner's token, a run id of the
          owner that is not in ``active_runs``);
        * an object the walk reads in its own way (exceptions, partials, contexts, caches,
          thread-locals, a C type the collector cannot read), or a buffer carrying a token;
        * with ``claimed`` (shared by the sweeps of one checkpoint): a mutable object another
          owner's sweep met first, that is, a candidate for shared state;
        * more objects or levels than the walk's budget.

        ``stale_under``: the root keys (:func:`root_key` of a root's name) under which a run
        id of the owner that is not running stops the sweep; under the other roots a user's
        finished runs are history, which the caller does not judge. None: under every root.
        Roots under those keys are swept first, so an object reachable from both is judged
        as theirs.

        ``pins`` receives every mutable object met (with ``claimed``), so that ids stay theirs
        until the caller drops it. A number means the walk would report nothing for ``owner``
        (``suites/unit/observe/test_sweep.py`` checks that on generated graphs).
        """
        classify = self._classifier()
        memo_get = self._memo.get
        plans_get = _PLANS.get
        # The classifier gives every string that carries only this owner's tokens and no run
        # id the same verdict object: one identity test clears the owner's own strings.
        mine = self._verdicts.setdefault(owner, (owner, ()))
        seen = set(self._stop)
        seen_add = seen.add
        max_objects, max_depth = self._max_objects, self._max_depth
        referents = gc.get_referents
        count = 0
        classes_done: set[type] = set()
        phases: list[tuple[list[Any], bool]]
        if stale_under is None:
            phases = [(list(roots.values()), True)]
        else:
            phases = [
                ([v for k, v in roots.items() if root_key(k) in stale_under], True),
                ([v for k, v in roots.items() if root_key(k) not in stale_under], False),
            ]
        was_enabled = gc.isenabled()
        gc.disable()  # no collection (nor weakref callbacks) may change the graph mid-sweep
        try:
            for children, stale in phases:
                depth = 0
                while children:
                    if depth > max_depth:
                        return None
                    plain: list[Any] = []
                    instances: list[Any] = []
                    mappings: list[Any] = []
                    special: list[tuple[Any, TypePlan]] = []
                    class_level: list[Any] = []  # read at the next level, as the walk does
                    for child in children:
                        kind = type(child)
                        if kind is str:
                            hit = memo_get(child)
                            if hit is False or hit is mine:
                                continue
                            if hit is None:
                                hit = classify(child)
                                if hit is False or hit is mine:
                                    continue
                            if hit[0] != owner or (stale and _inactive(hit[1], active_runs)):
                                return None
                            continue
                        plan = plans_get(kind) or plan_for(kind)
                        if plan is SKIP:
                            continue
                        if plan is SCAN:  # a str subclass
                            hit = classify(child)
                            if hit and (
                                hit[0] != owner or (stale and _inactive(hit[1], active_runs))
                            ):
                                return None
                            continue
                        ident = id(child)
                        if ident in seen:
                            continue
                        seen_add(ident)
                        count += 1
                        if plan.mutable and claimed is not None:
                            if claimed.setdefault(ident, owner) != owner:
                                return None  # met first by another owner at this checkpoint
                            if pins is not None:
                                pins.append(child)
                        sweep = plan.sweep
                        if sweep == SWEEP_DICT:
                            instances.append(child)
                        elif sweep == SWEEP_MAPPING:
                            mappings.append(child)
                            if plan.has_dict or plan.slots:
                                plain.append(child)  # a dict subclass's own attributes
                        elif sweep == SWEEP_REFERENTS:
                            plain.append(child)
                        elif sweep == SWEEP_WALK:
                            return None
                        elif sweep == SWEEP_APART:
                            special.append((child, plan))
                        for klass in plan.class_owners:
                            if klass not in classes_done:
                                classes_done.add(klass)
                                class_level.extend(value for _, value in class_values(klass))
                    if count > max_objects:
                        return None
                    children = referents(*plain) if plain else []
                    children.extend(class_level)
                    for obj in mappings:
                        children.extend(dict.keys(obj))
                        children.extend(dict.values(obj))
                    for obj in instances:
                        try:
                            attributes = object.__getattribute__(obj, "__dict__")
                        except AttributeError:
                            continue
                        if type(attributes) is dict:
                            children.extend(attributes.values())
                    for obj, plan in special:
                        container = plan.container
                        if container == CONTAINER_METHOD:
                            children.append(getattr(obj, "__self__", None))
                        elif container == CONTAINER_FUNCTION:
                            children.extend(value for _name, value in function_state(obj))
                        elif container == CONTAINER_PROXY:
                            # What the view shows, not the dict behind it: handed out read-only,
                            # that dict is not shared through the view (the walk's rule).
                            inner = referents(obj)
                            if len(inner) == 1 and isinstance(inner[0], dict):
                                children.extend(dict.keys(inner[0]))
                                children.extend(dict.values(inner[0]))
                            else:
                                children.extend(inner)
                        elif container == CONTAINER_BUFFER:
                            text = buffer_text(obj)
                            hit = classify(text) if text else False
                            if hit and (
                                hit[0] != owner or (stale and _inactive(hit[1], active_runs))
                            ):
                                return None
                    depth += 1
        finally:
            if was_enabled:
                gc.enable()
        return count

    # ------------------------------------------------------------------ the walk

    def _classifier(self) -> Callable[[str], _Hit]:
        """``text -> False`` (no token) or ``(owner signature, run ids)``, memoised per walker.

        The signature is the one owner of every token in ``text``, or None when it carries
        tokens of several owners; the run ids are the tokens of kind ``run_id``. Whether a
        string is worth reporting about an owner is then a comparison, not a scan.
        """
        index = self._index
        if len(index) == self._memo_size and len(self._memo) <= _MEMO_LIMIT:
            return self._classify
        self._memo = {}
        self._memo_size = len(index)
        self._verdicts.clear()
        memo = self._memo
        full = index.needs_full_scan
        scan = index.scan  # remembers its results: later scans of these values are cheap
        kind = index.kind

        plain = self._verdicts  # (owner, ()) once per owner, not per string

        def classify(text: str) -> _Hit:
            hit = memo.get(text)
            if hit is None:
                hit = False
                exact = None if full else kind(text)
                if exact in _ID_KINDS:
                    # The string is one generated id, nothing around it: its fixed shape
                    # holds no other token, so the answer needs no scan.
                    signature = index.owner(text)
                    if exact == "run_id":
                        hit = (signature, (text,))
                    else:
                        hit = plain.setdefault(signature, (signature, ()))
                elif full or "_" in text or "@" in text or "eyJ" in text:
                    tokens = scan(text)
                    if tokens:
                        owners = {token_owner for _token, token_owner in tokens}
                        signature = owners.pop() if len(owners) == 1 else None
                        runs = tuple(token for token, _ in tokens if kind(token) == "run_id")
                        if runs:
                            hit = (signature, runs)
                        else:
                            hit = plain.setdefault(signature, (signature, ()))
                if len(text) <= _MEMO_MAX_LEN:
                    memo[text] = hit
            return hit

        self._classify = classify
        return classify

    def _walk(
        self,
        roots: Mapping[str, object],
        targets: set[int] | None,
        keep_alive: dict[int, object] | None,
        owner: str | None,
        active_runs: Container[str],
        claimed: dict[int, object] | None = None,
        known: Callable[[str, str], bool] | None = None,
    ) -> tuple[WalkResult, dict[int, str]]:
        classify = self._classifier()
        index = self._index
        max_objects, max_depth = self._max_objects, self._max_depth
        seen: set[int] = set(self._stop)
        queue: deque[tuple[Any, str, int, TypePlan]] = deque()
        values: list[FoundValue] = []
        mutable: dict[int, tuple[str, str]] = {}
        found: dict[int, str] = {}
        classes_done: set[type] = set()
        count = 0
        truncated = False

        plans = _PLANS
        key_texts = self._key_texts
        memo = self._memo
        append = queue.append

        # With an owner, a string is reported when it carries another owner's token (its
        # signature is not ``me``) or a run id of the owner that is not active (``_inactive``).
        # Without one, every string carrying a token is: ``me`` then equals no signature.
        me: object = owner if owner is not None else _NOBODY

        def report(where: str, text: str, holder: type | None = None, name: str = "") -> None:
            # A string worth reporting: a FoundValue unless the caller already holds it.
            if len(text) <= MAX_VALUE_CHARS:
                if known is None or not known(where, text):
                    site = attribute_site(holder, name) if holder is not None else ""
                    values.append(FoundValue(path=where, value=text, site=site))
                return
            site = attribute_site(holder, name) if holder is not None else ""
            for window in found_values(index, where, text, site):
                if known is None or not known(window.path, window.value):
                    values.append(window)

        def enqueue(obj: Any, plan: TypePlan, path: str, depth: int) -> None:
            # obj is walkable (not SKIP, not SCAN) and not yet seen.
            nonlocal count, truncated
            if depth > max_depth or count >= max_objects:
                truncated = True
                return
            ident = id(obj)
            seen.add(ident)
            count += 1
            if targets is not None and ident in targets:
                found[ident] = path
            if plan.mutable:
                mutable[ident] = (path, plan.type_name)
                if keep_alive is not None:
                    keep_alive[ident] = obj
                if claimed is not None and claimed.setdefault(ident, me) != me:
                    # Entered by another owner's walk at this checkpoint. Only a mutable
                    # object stops the walk: it is recorded, so the crossing is seen here.
                    return
            append((obj, path, depth, plan))

        def offer(obj: Any, path: str, depth: int) -> None:
            kind = type(obj)
            plan = plans.get(kind) or plan_for(kind)
            if plan is SCAN:
                hit = classify(obj)
                if hit and (hit[0] != me or (hit[1] and _inactive(hit[1], active_runs))):
                    report(path, obj)
            elif plan is not SKIP and id(obj) not in seen:
                enqueue(obj, plan, path, depth)

        was_enabled = gc.isenabled()
        gc.disable()  # no collection (nor weakref callbacks) may change the graph mid-walk
        try:
            for name, root in roots.items():
                offer(root, name, 0)
            while queue:
                if targets is not None and len(found) == len(targets):
                    break
                obj, path, depth, plan = queue.popleft()
                child = depth + 1
                container = plan.container
                items: Any = None  # a sequence's (position, item) pairs
                if container == CONTAINER_PROXY:
                    # A read-only view: walk what it shows, but the mapping behind it was not
                    # handed out for writing, so it is not counted as shared through the view
                    # (a writable path to it, if any, still counts).
                    inner = gc.get_referents(obj)
                    if len(inner) == 1 and isinstance(inner[0], dict):
                        obj, container = inner[0], CONTAINER_MAPPING
                    else:
                        for item in inner:
                            offer(item, path, depth)
                if container == CONTAINER_MAPPING:
                    for position, (key, value) in enumerate(list(dict.items(obj))):
                        key_type = type(key)
                        if key_type is str:
                            hit = memo.get(key)
                            if hit is None:
                                hit = classify(key)
                            if hit and (
                                hit[0] != me or (hit[1] and _inactive(hit[1], active_runs))
                            ):
                                where = f"{path}{{key {position}}}"
                                report(where, key)
                        elif key_type not in _LEAVES:
                            offer(key, f"{path}{{key {position}}}", child)
                        kind = type(value)
                        value_plan = plans.get(kind) or plan_for(kind)
                        if value_plan is SKIP:
                            continue
                        if value_plan is SCAN:
                            hit = memo.get(value)
                            if hit is None:
                                hit = classify(value)
                            if not hit or (
                                hit[0] == me and not (hit[1] and _inactive(hit[1], active_runs))
                            ):
                                continue
                        elif id(value) in seen:
                            continue
                        text = key_texts.get(key) if key_type is str else None
                        if text is None:
                            text = key_text(key, position)
                            if key_type is str and len(key_texts) < _MEMO_LIMIT:
                                key_texts[key] = text
                        if value_plan is SCAN:
                            report(f"{path}[{text}]", value)
                        else:
                            enqueue(value, value_plan, f"{path}[{text}]", child)
                elif container == CONTAINER_SEQUENCE:
                    # Histories and queues hold most of a shared graph: their items go through
                    # the same inlined loop as attributes, below.
                    items = enumerate(list(obj))
                elif container == CONTAINER_SET:
                    for position, item in enumerate(sorted(list(obj), key=stable_key)):
                        offer(item, f"{path}{{set item {position}}}", child)
                elif container == CONTAINER_METHOD:
                    offer(getattr(obj, "__self__", None), f"{path}.__self__", child)
                elif container == CONTAINER_CONTEXT:
                    for variable, value in list(obj.items()):
                        offer(value, f"{path}[{variable.name!r}]", child)
                elif container == CONTAINER_FUNCTION:
                    for name, value in function_state(obj):
                        if type(value) not in _LEAVES:
                            offer(value, f"{path}{{{name}}}", child)
                elif container == CONTAINER_CACHE:
                    for position, (key, value) in enumerate(list(cached_results(obj).items())):
                        offer(key, f"{path}{{cache key {position}}}", child)
                        offer(value, f"{path}{{cache value {position}}}", child)
                elif container == CONTAINER_THREAD_LOCAL:
                    for name, value in thread_local_attributes(obj).items():
                        offer(value, f"{path}.{name}", child)
                elif container == CONTAINER_BUFFER:
                    text = buffer_text(obj)
                    hit = classify(text) if text else False
                    if hit and (hit[0] != me or (hit[1] and _inactive(hit[1], active_runs))):
                        report(path, text)
                    continue  # nothing else to read in a buffer
                entries: tuple[tuple[Any, str, str, type | None], ...] = ()
                if items is not None:
                    entries = ((items, "[", "]", None),)
                    items = None
                if plan.has_dict:
                    try:
                        attributes = object.__getattribute__(obj, "__dict__")
                    except AttributeError:
                        attributes = None
                    if type(attributes) is dict:
                        entries += ((list(attributes.items()), ".", "", type(obj)),)
                for pairs, opening, closing, holder in entries:
                    # offer() and enqueue(), inlined: most objects are met as attributes or
                    # list items. ``holder`` is the class of an attribute's object (its site).
                    for name, value in pairs:
                        kind = type(value)
                        if kind in _LEAVES:
                            continue
                        value_plan = plans.get(kind) or plan_for(kind)
                        if value_plan is SKIP or (holder is not None and type(name) is not str):
                            continue
                        if value_plan is SCAN:
                            hit = memo.get(value)
                            if hit is None:
                                hit = classify(value)
                            if hit and (
                                hit[0] != me or (hit[1] and _inactive(hit[1], active_runs))
                            ):
                                report(f"{path}{opening}{name}{closing}", value, holder, name)
                            continue
                        ident = id(value)
                        if ident in seen:
                            continue
                        if child > max_depth or count >= max_objects:
                            truncated = True
                            continue
                        seen.add(ident)
                        count += 1
                        where = f"{path}{opening}{name}{closing}"
                        if targets is not None and ident in targets:
                            found[ident] = where
                        if value_plan.mutable:
                            mutable[ident] = (where, value_plan.type_name)
                            if keep_alive is not None:
                                keep_alive[ident] = value
                            if claimed is not None and claimed.setdefault(ident, me) != me:
                                continue  # entered by another owner's walk
                        append((value, where, child, value_plan))
                for name, read in plan.slots:
                    try:
                        value = read(obj, None)
                    except AttributeError:
                        continue
                    kind = type(value)
                    value_plan = plans.get(kind) or plan_for(kind)
                    if value_plan is SKIP:
                        continue
                    if value_plan is SCAN:
                        hit = memo.get(value)
                        if hit is None:
                            hit = classify(value)
                        if hit and (hit[0] != me or (hit[1] and _inactive(hit[1], active_runs))):
                            report(f"{path}.{name}", value, type(obj), name)
                    elif id(value) not in seen:
                        enqueue(value, value_plan, f"{path}.{name}", child)
                for name in plan.extras:
                    value = getattr(obj, name, None)
                    if type(value) not in _LEAVES:
                        offer(value, f"{path}.{name}", child)
                for klass in plan.class_owners:
                    if klass in classes_done:
                        continue
                    classes_done.add(klass)
                    for name, value in class_values(klass):
                        offer(value, f"{display_name(klass)}.{name}", 1)
        finally:
            if was_enabled:
                gc.enable()
        result = WalkResult(tuple(values), mutable, count, truncated)
        return result, found
