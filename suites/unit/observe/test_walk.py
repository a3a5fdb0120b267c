from __future__ import annotations

import array
import asyncio
import collections
import dataclasses
import enum
import functools
import inspect
import logging
import types
import weakref
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest

from harness.errors import UsageError
from harness.model import FoundObject, FoundValue
from harness.observe import _walk_shared, walk
from harness.observe._walk_shared import shared_between
from harness.observe.tokens import TokenIndex
from harness.observe.walk import MAX_VALUE_CHARS, Walker, WalkResult
from suites.unit.observe.users import A_CANARY, A_ID, A_RUN, B_CANARY, B_ID, B_RUN, make_user


@pytest.fixture
def index() -> TokenIndex:
    return TokenIndex.build([make_user("a"), make_user("b")], runs=[(A_ID, A_RUN), (B_ID, B_RUN)])


def paths(result: WalkResult) -> list[tuple[str, str]]:
    return [(found.path, found.value) for found in result.values]


class Box:
    def __init__(self, **attributes: Any) -> None:
        self.__dict__.update(attributes)

    def __setattr__(self, name: str, value: Any) -> None:
        self.__dict__[name] = value

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(name)


def test_public_names() -> None:
    assert walk.__all__ == [
        "MAX_BUFFER_BYTES",
        "MAX_VALUE_CHARS",
        "WalkResult",
        "Walker",
        "buffer_text",
        "function_state",
    ]
    assert _walk_shared.__all__ == ["shared_between"]


# --------------------------------------------------------------------------- following rules


def test_dict_keys_and_values_are_walked(index: TokenIndex) -> None:
    key_object = Box(note=B_CANARY)
    graph = {A_RUN: {"message": f"hi {B_CANARY}"}, key_object: "plain", 7: [A_ID]}
    result = Walker(index).walk({"runs": graph})
    assert paths(result) == [
        ("runs{key 0}", A_RUN),  # keys first, as their dict is met
        (f'runs["{A_RUN}"]["message"]', f"hi {B_CANARY}"),  # then breadth first
        ("runs{key 1}.note", B_CANARY),
        ("runs[7][0]", A_ID),
    ]


def test_slots_across_the_mro_including_private_names(index: TokenIndex) -> None:
    class Base:
        __slots__ = ("__hidden", "base_value")

        def __init__(self) -> None:
            self.base_value = A_CANARY
            self.__hidden = B_CANARY

    class Child(Base):
        __slots__ = ("child_value", "unset")

        def __init__(self) -> None:
            super().__init__()
            self.child_value = A_ID

    result = Walker(index).walk({"obj": Child()})
    assert paths(result) == [
        ("obj.child_value", A_ID),
        ("obj._Base__hidden", B_CANARY),
        ("obj.base_value", A_CANARY),
    ]
    assert list(result.mutable.values()) == [("obj", "Child")]


def test_mappingproxy_reaches_the_wrapped_dict_read_only(index: TokenIndex) -> None:
    inner = {"owner": B_ID}
    proxy = types.MappingProxyType(inner)
    result = Walker(index).walk({"meta": Box(view=proxy)})
    assert paths(result) == [('meta.view["owner"]', B_ID)]
    # Seen through a read-only view, the dict was not handed out for writing...
    assert id(inner) not in result.mutable
    # ...but a writable path to it still counts.
    both = Walker(index).walk({"meta": Box(view=proxy, raw=inner)})
    assert both.mutable[id(inner)] == ("meta.raw", "dict")


def test_a_read_only_view_shared_by_two_users_is_not_shared_state(index: TokenIndex) -> None:
    table = types.MappingProxyType({"echo": ["name", "params"]})
    walker = Walker(index)
    keep: dict[int, object] = {}
    results = {
        A_ID: walker.walk({"engine": Box(tools=table)}, keep_alive=keep),
        B_ID: walker.walk({"engine": Box(tools=table)}, keep_alive=keep),
    }
    shared = shared_between(results, keep_alive=keep)
    # The list inside is writable by whoever holds it, view or not: that one is shared.
    assert [found.paths[A_ID] for found in shared] == ['engine.tools["echo"]']


def test_bound_method_self_is_followed(index: TokenIndex) -> None:
    target = Box(secret=A_CANARY)
    result = Walker(index).walk({"cb": target.__repr__, "append": [].append})
    assert paths(result) == [("cb.__self__.secret", A_CANARY)]


def test_closure_cells_and_default_arguments_are_followed(index: TokenIndex) -> None:
    def make_memo() -> Any:
        seen: dict[str, str] = {}

        def remember(run_id: str, text: str) -> None:
            seen[run_id] = text

        return remember, seen

    remember, seen = make_memo()
    remember(B_RUN, B_CANARY)

    def note(text: str, _log: list[str] = [B_CANARY], *, last: str = A_CANARY) -> None:  # noqa: B006
        return None

    wrapped = functools.partial(note)  # a partial's func is followed as before
    result = Walker(index).walk({"engine": Box(memo=remember, note=wrapped)})
    assert paths(result) == [
        ("engine.memo{closure seen}{key 0}", B_RUN),
        ('engine.memo{closure seen}["run_bbbbbbbbbbbb"]', B_CANARY),
        ("engine.note.func{kwdefault last}", A_CANARY),  # breadth first: before the list's
        ("engine.note.func{default _log}[0]", B_CANARY),
    ]
    assert result.mutable[id(seen)] == ("engine.memo{closure seen}", "dict")


def test_a_memo_shared_through_a_closure_is_shared_state(index: TokenIndex) -> None:
    def make_memo() -> Any:
        seen: dict[str, str] = {}
        return lambda run_id, text: seen.__setitem__(run_id, text)

    memo = make_memo()
    walker = Walker(index)
    keep: dict[int, object] = {}
    results = {
        A_ID: walker.walk({"runner": Box(memo=memo)}, keep_alive=keep),
        B_ID: walker.walk({"runner": Box(memo=memo)}, keep_alive=keep),
    }
    (found,) = shared_between(results, keep_alive=keep)
    assert found.type_name == "dict"
    assert found.paths == {A_ID: "runner.memo{closure seen}", B_ID: "runner.memo{closure seen}"}


def test_a_functions_globals_and_code_are_not_followed(index: TokenIndex) -> None:
    def reads_a_constant() -> str:
        return B_CANARY  # in the code's constants: the function's text, not its state

    graph = Box(function=reads_a_constant, module_function=make_user)
    assert paths(Walker(index).walk({"g": graph})) == []


def test_bytes_buffers_and_arrays_are_scanned(index: TokenIndex) -> None:
    encoded = f"message of {B_CANARY}".encode()
    frame = bytearray(b"prefix " + B_RUN.encode())
    numbers = array.array("b", A_CANARY.encode())
    text = array.array("u", B_ID)
    result = Walker(index).walk({"g": Box(raw=encoded, frame=frame, numbers=numbers, text=text)})
    assert paths(result) == [
        ("g.raw", f"message of {B_CANARY}"),
        ("g.frame", f"prefix {B_RUN}"),
        ("g.numbers", A_CANARY),
        ("g.text", B_ID),
    ]
    # A bytearray and an array can be written to: they count as mutable; bytes do not.
    assert result.mutable[id(frame)] == ("g.frame", "bytearray")
    assert result.mutable[id(numbers)] == ("g.numbers", "array")
    assert id(encoded) not in result.mutable


def test_an_unhashable_object_with_nothing_to_read_is_still_mutable(index: TokenIndex) -> None:
    class Table:  # stands for a C object such as an ndarray: no __dict__, unhashable
        __slots__ = ()
        __hash__ = None  # type: ignore[assignment]

    table = Table()
    result = Walker(index).walk({"engine": Box(table=table)})
    assert result.mutable[id(table)] == ("engine.table", "Table")


def test_modules_types_and_weakrefs_are_skipped(index: TokenIndex) -> None:
    def closure() -> str:
        return B_CANARY

    class Holder:
        token = A_CANARY  # a str at class level is scanned...

        @staticmethod
        def helper() -> str:
            return B_CANARY

    fake_module = types.ModuleType("fake")
    fake_module.secret = B_CANARY  # type: ignore[attr-defined]
    referent = Box(secret=B_CANARY)
    graph = Box(
        function=closure,
        partial_function=functools.partial(closure),
        module=fake_module,
        kind=Holder,  # ...but a type met as a value is not entered
        ref=weakref.ref(referent),
        proxy=weakref.proxy(referent),
        numbers=(1, 2.0, None, True, b"no token here"),
    )
    assert paths(Walker(index).walk({"g": graph})) == []
    assert paths(Walker(index).walk({"h": Holder()})) == [("Holder.token", A_CANARY)]


def test_boundaries_stop_the_walk(index: TokenIndex) -> None:
    shared = {"all_users": [B_CANARY]}
    graph = Box(mine=A_CANARY, infra=shared)
    assert paths(Walker(index).walk({"g": graph})) == [
        ("g.mine", A_CANARY),
        ('g.infra["all_users"][0]', B_CANARY),
    ]
    walker = Walker(index, boundaries=[shared])
    result = walker.walk({"g": graph})
    assert paths(result) == [("g.mine", A_CANARY)]
    assert id(shared) not in result.mutable


def test_opaque_objects_are_skipped(index: TokenIndex) -> None:
    scaffolding = Box(session_of_b=B_CANARY)
    logger = logging.getLogger("harness.test_walk")
    graph = Box(mine=A_CANARY, adapter=scaffolding, log=logger, handler=logging.NullHandler())
    result = Walker(index, opaque=[scaffolding]).walk({"g": graph})
    assert paths(result) == [("g.mine", A_CANARY)]
    assert id(scaffolding) not in result.mutable


def _closure_in(module: str, held: object) -> Any:
    """A callback holding ``held`` in a closure cell, as if defined in ``module``."""
    namespace: dict[str, Any] = {"__name__": module}
    source = "def make(held):\n    def on_event(event):\n        return held\n    return on_event\n"
    exec(source, namespace)
    return namespace["make"](held)


def test_the_harness_own_machinery_is_not_walked(index: TokenIndex) -> None:
    # A target that keeps what the harness handed it (a session's on_event callback, held by a
    # connection registry) reaches the harness's driver and token index, which hold every
    # user's tokens: walked, the harness's bookkeeping would read as a leak.
    graph = Box(
        mine=A_CANARY,
        on_event=_closure_in("harness.runner._driver", [B_CANARY]),
        index=index,
        user=make_user("b"),  # a record of the harness's (harness.model) is data like any other
    )
    result = Walker(index).walk({"g": graph})
    found = paths(result)
    assert found[0] == ("g.mine", A_CANARY)
    assert ("g.user.user_id", B_ID) in found
    assert all(path.startswith(("g.mine", "g.user.")) for path, _value in found), found
    assert id(index) not in result.mutable


def test_the_same_callback_in_a_targets_own_module_is_walked(index: TokenIndex) -> None:
    graph = Box(mine=A_CANARY, on_event=_closure_in("service.callbacks", [B_CANARY]))
    result = Walker(index).walk({"g": graph})
    assert paths(result) == [("g.mine", A_CANARY), ("g.on_event{closure held}[0]", B_CANARY)]


@pytest.mark.asyncio
async def test_event_loop_tasks_coroutines_and_locks_are_skipped(index: TokenIndex) -> None:
    gate = asyncio.Event()

    async def hold(secret: str) -> str:
        await gate.wait()
        return secret

    task = asyncio.get_running_loop().create_task(hold(B_CANARY))
    coroutine = hold(B_CANARY)
    lock = asyncio.Lock()
    graph = Box(
        loop=asyncio.get_running_loop(),
        task=task,
        coroutine=coroutine,
        generator=(B_CANARY for _ in range(1)),
        lock=lock,
        queue=asyncio.Queue(),
        mine=A_CANARY,
    )
    result = Walker(index).walk({"g": graph})
    coroutine.close()
    gate.set()
    assert await task == B_CANARY
    assert paths(result) == [("g.mine", A_CANARY)]
    assert id(lock) in result.mutable  # locks are walked, their loop is not


# --------------------------------------------------------------------------- class level state


class Registry:
    _instances: ClassVar[dict[str, Any]] = {}
    _singleton: ClassVar[Any] = None

    def __init__(self, user_id: str) -> None:
        self.user_id = user_id


def test_class_level_dict_is_shared_between_two_users(index: TokenIndex) -> None:
    Registry._instances = {}
    a, b = Registry(A_ID), Registry(B_ID)
    Registry._instances[A_ID] = a
    walker = Walker(index)
    results = {A_ID: walker.walk({"engine": Box(registry=a)}), B_ID: walker.walk({"engine": b})}
    # B's walk reaches A's id through the class attribute, recorded once with the class path.
    assert ("Registry._instances{key 0}", A_ID) in paths(results[B_ID])
    found = shared_between(results)
    # Each shared object names where its class is defined (a builtin dict has no site).
    assert found[0].site == ""
    assert found[1].site.startswith("suites.unit.observe.test_walk.Registry (")
    assert found[1].site.endswith(f"test_walk.py:{inspect.getsourcelines(Registry)[1]})")
    found = tuple(dataclasses.replace(f, site="") for f in found)
    # Numbered by (first owner, path): "Registry._instances" sorts before "engine.registry".
    assert found == (
        FoundObject(
            identity=1,
            type_name="dict",
            paths={A_ID: "Registry._instances", B_ID: "Registry._instances"},
        ),
        FoundObject(
            identity=2,
            type_name="Registry",
            paths={A_ID: "engine.registry", B_ID: 'Registry._instances["usr_aaaaaaaaaaaa"]'},
        ),
    )


def test_class_attribute_rebound_from_none_is_seen(index: TokenIndex) -> None:
    Registry._instances = {}
    before = Walker(index).walk({"r": Registry(A_ID)})
    Registry._singleton = Box(last_user=B_ID)
    try:
        after = Walker(index).walk({"r": Registry(A_ID)})
    finally:
        Registry._singleton = None
    assert ("Registry._singleton.last_user", B_ID) not in paths(before)
    assert ("Registry._singleton.last_user", B_ID) in paths(after)


# --------------------------------------------------------------------------- records, mutability


@dataclass(frozen=True, slots=True)
class Request:
    run_id: str
    message: str
    metadata: dict[str, str] = field(default_factory=dict)


class Color(enum.Enum):
    RED = "usr_bbbbbbbbbbbb"


def test_frozen_records_followed_but_not_mutable(index: TokenIndex) -> None:
    request = Request(run_id=A_RUN, message=f"hello {A_CANARY}")
    result = Walker(index).walk({"request": request, "by_color": {Color.RED: [1]}})
    assert paths(result) == [
        ("request.run_id", A_RUN),
        ("request.message", f"hello {A_CANARY}"),
    ]  # the Enum member's value is not a string met by the walk
    assert id(request) not in result.mutable
    assert result.mutable[id(request.metadata)] == ("request.metadata", "dict")
    assert [path for path, _ in result.mutable.values()] == [
        "by_color",
        "request.metadata",
        "by_color[Color.RED]",
    ]


def test_containers_of_every_kind(index: TokenIndex) -> None:
    failure = ValueError(f"bad run {B_RUN}")
    graph = {
        "deque": collections.deque([A_ID]),
        "tuple": (None, A_CANARY),
        "frozen": frozenset({B_ID}),
        "bytes": bytearray(b"x"),
        "error": failure,
        "partial": functools.partial(print, B_CANARY, sep=A_ID),
    }
    result = Walker(index).walk({"g": graph})
    assert paths(result) == [
        ('g["deque"][0]', A_ID),
        ('g["tuple"][1]', A_CANARY),
        ('g["frozen"]{set item 0}', B_ID),
        ('g["error"].args[0]', f"bad run {B_RUN}"),
        ('g["partial"].args[0]', B_CANARY),
        ('g["partial"].keywords["sep"]', A_ID),
    ]
    kinds = sorted(type_name for _, type_name in result.mutable.values())
    assert kinds == ["ValueError", "bytearray", "deque", "dict", "dict"]


def test_long_strings_are_cut_around_every_token(index: TokenIndex) -> None:
    text = A_CANARY + " " + "x" * 1000 + B_CANARY + "y" * 1000
    result = Walker(index).walk({"s": [text]})
    assert [found.path for found in result.values] == ["s[0]", "s[0]"]
    first, second = (found.value for found in result.values)
    assert len(first) == len(second) == MAX_VALUE_CHARS
    assert first.startswith(A_CANARY)
    assert B_CANARY in second
    short = Walker(index).walk({"s": f"ok {A_ID}"})
    assert short.values == (FoundValue(path="s", value=f"ok {A_ID}"),)


# --------------------------------------------------------------------------- order and bounds


def build_graph() -> dict[str, Any]:
    node = Box(name="first", items={"b", A_ID, "a", B_CANARY})
    node.next = Box(name="second", back=node, tags=[A_CANARY, {"run": A_RUN}])
    return {"root": node, "objects": {Box(k=2), Box(k=1), "z", 3}}


def test_walks_of_equal_graphs_are_identical(index: TokenIndex) -> None:
    first = Walker(index).walk(build_graph())
    second = Walker(index).walk(build_graph())
    assert first.values == second.values
    assert list(first.mutable.values()) == list(second.mutable.values())
    assert first.visited == second.visited
    assert paths(first)[:2] == [
        ("root.items{set item 2}", B_CANARY),
        ("root.items{set item 3}", A_ID),
    ]
    set_paths = [p for p, _ in first.mutable.values() if p.startswith("objects")]
    assert set_paths == ["objects", "objects{set item 2}", "objects{set item 3}"]


def test_set_objects_ordered_by_their_attributes(index: TokenIndex) -> None:
    one, two = Box(k=1, who=A_ID), Box(k=2, who=B_ID)
    for members in ({one, two}, {two, one}):
        result = Walker(index).walk({"s": members})
        assert paths(result) == [("s{set item 0}.who", A_ID), ("s{set item 1}.who", B_ID)]


def test_cycles_terminate_and_each_object_is_visited_once(index: TokenIndex) -> None:
    a = Box(secret=A_CANARY)
    b = Box(peer=a)
    a.peer = b
    cycle: list[Any] = [a]
    cycle.append(cycle)
    result = Walker(index).walk({"a": a, "cycle": cycle})
    assert paths(result) == [("a.secret", A_CANARY)]
    assert result.visited == 3
    assert not result.truncated


def test_max_depth_truncates(index: TokenIndex) -> None:
    chain: Any = {"leaf": B_CANARY}
    for _ in range(5):
        chain = {"next": chain}
    assert paths(Walker(index).walk({"c": chain}))[0][1] == B_CANARY
    shallow = Walker(index, max_depth=3).walk({"c": chain})
    assert shallow.values == ()
    assert shallow.truncated
    assert shallow.visited == 4


def test_max_objects_truncates(index: TokenIndex) -> None:
    graph = [Box(value=A_ID) for _ in range(10)]
    full = Walker(index).walk({"g": graph})
    assert full.visited == 11 and not full.truncated
    bounded = Walker(index, max_objects=5).walk({"g": graph})
    assert bounded.visited == 5
    assert bounded.truncated
    assert len(bounded.values) == 4


def test_invalid_bounds_name_the_value(index: TokenIndex) -> None:
    with pytest.raises(UsageError, match=r"max_objects=0"):
        Walker(index, max_objects=0)
    with pytest.raises(UsageError, match=r"max_depth=-1"):
        Walker(index, max_depth=-1)


# --------------------------------------------------------------------------- find_paths, shared


def test_find_paths_gives_the_first_path_to_each_target(index: TokenIndex) -> None:
    engine = Box(user=A_ID)
    other = Box()
    shared = {"cache": {"recent": [Box(engine=engine)]}, "also": engine}
    found = Walker(index).find_paths({"factory": shared}, [engine, other, "a string"])
    assert found == {id(engine): 'factory["also"]'}
    assert Walker(index).find_paths({"factory": shared}, []) == {}


def test_shared_between_ignores_single_owner_objects_and_orders_by_owner(
    index: TokenIndex,
) -> None:
    common_late: list[int] = []
    common_early: dict[str, int] = {}
    # The roots stay alive across the three walks: ids are only comparable while they live.
    roots = {
        "u1": {"x": Box(late=common_late, early=common_early)},
        "u2": {"y": Box(early=common_early)},
        "u3": {"z": Box(late=common_late, mine=[])},
    }
    walker = Walker(index)
    results = {owner: walker.walk(owner_roots) for owner, owner_roots in roots.items()}
    found = shared_between(results)
    assert [(obj.identity, obj.type_name, dict(obj.paths)) for obj in found] == [
        (1, "dict", {"u1": "x.early", "u2": "y.early"}),
        (2, "list", {"u1": "x.late", "u3": "z.late"}),
    ]
    assert shared_between({"u1": results["u1"]}) == ()


def test_keep_alive_pins_objects_and_filters_shared_between(index: TokenIndex) -> None:
    common: dict[str, str] = {}
    pins: dict[int, object] = {}
    walker = Walker(index)
    results = {
        "u1": walker.walk({"x": [common]}, keep_alive=pins),
        "u2": walker.walk({"y": [common]}, keep_alive=pins),
    }
    assert pins[id(common)] is common
    assert [obj.paths for obj in shared_between(results, keep_alive=pins)] == [
        {"u1": "x[0]", "u2": "y[0]"}
    ]
    assert shared_between(results, keep_alive={}) == ()
    results["u1"].keep_alive_free()  # holds ids only: nothing to release


# --------------------------------------------------------------------------- two users


class ToolDispatcher:
    __slots__ = ("context", "history")

    def __init__(self, context: Request) -> None:
        self.context = context
        self.history: list[dict[str, Any]] = []


class Engine:
    def __init__(self, user_id: str, run_id: str, message: str) -> None:
        self.user_id = user_id
        self.execution_registry = Box(_runs={run_id: Box(request=Request(run_id, message))})
        self.dispatcher = ToolDispatcher(Request(run_id, message))
        self.tools = [object(), object(), Box(name="echo")]


def test_foreign_canary_deep_in_another_users_graph(index: TokenIndex) -> None:
    engine_a = Engine(A_ID, A_RUN, f"A says {A_CANARY}")
    engine_b = Engine(B_ID, B_RUN, f"B says {B_CANARY}")
    # The leak: a tool result of A's run ends up in B's dispatcher history.
    engine_b.dispatcher.history.append({"result": {"params": {"note": f"from A: {A_CANARY}"}}})
    walker = Walker(index)
    walk_a = walker.walk({"engine": engine_a})
    walk_b = walker.walk({"engine": engine_b})
    foreign = [
        found
        for found in walk_b.values
        if any(owner != B_ID for _, owner in index.scan(found.value))
    ]
    assert foreign == [
        FoundValue(
            path='engine.dispatcher.history[0]["result"]["params"]["note"]',
            value=f"from A: {A_CANARY}",
        )
    ]
    assert (
        f'engine.execution_registry._runs["{A_RUN}"].request.message',
        f"A says {A_CANARY}",
    ) in paths(walk_a)
    assert all(owner == A_ID for found in walk_a.values for _, owner in index.scan(found.value))
    assert shared_between({A_ID: walk_a, B_ID: walk_b}) == ()


# --------------------------------------------------------------------------- owner filter


def test_owner_filter_keeps_foreign_mixed_and_inactive_run_strings(index: TokenIndex) -> None:
    mixed = f"{A_RUN} copied {B_CANARY}"
    roots = {"engine": Box(me=A_ID, run=A_RUN, mixed=mixed, other=B_ID, plain="no token")}
    walker = Walker(index)  # one walker: its string verdicts are remembered across walks
    active = walker.walk(roots, owner=A_ID, active_runs={A_RUN})
    assert paths(active) == [("engine.mixed", mixed), ("engine.other", B_ID)]
    # The same strings again, the run no longer active: now the run id is worth reporting.
    ended = walker.walk(roots, owner=A_ID, active_runs=())
    assert paths(ended) == [
        ("engine.run", A_RUN),
        ("engine.mixed", mixed),
        ("engine.other", B_ID),
    ]
    # Seen from B, everything of A is foreign; without an owner, every token is reported.
    assert [p for p, _ in paths(walker.walk(roots, owner=B_ID))] == [
        "engine.me",
        "engine.run",
        "engine.mixed",
    ]
    assert [p for p, _ in paths(walker.walk(roots))] == [
        "engine.me",
        "engine.run",
        "engine.mixed",
        "engine.other",
    ]


def test_owner_filter_applies_to_keys_slots_and_sequences(index: TokenIndex) -> None:
    @dataclass(frozen=True, slots=True)
    class Context:
        user_id: str

    roots = {"registry": {A_RUN: [B_CANARY, A_CANARY], B_RUN: Context(user_id=B_ID)}}
    found = paths(Walker(index).walk(roots, owner=A_ID, active_runs={A_RUN}))
    assert found == [
        ("registry{key 1}", B_RUN),
        ('registry["run_aaaaaaaaaaaa"][0]', B_CANARY),
        ('registry["run_bbbbbbbbbbbb"].user_id', B_ID),
    ]


def test_shared_between_three_owners_one_object(index: TokenIndex) -> None:
    common: list[int] = []
    roots: dict[str, dict[str, object]] = {
        "u1": {"x": [common, common]},
        "u2": {"y": {"k": common}},
        "u3": {"z": Box(c=common)},
    }
    walker = Walker(index)
    results = {owner: walker.walk(owner_roots) for owner, owner_roots in roots.items()}
    found = shared_between(results)
    assert [(obj.identity, dict(obj.paths)) for obj in found] == [
        (1, {"u1": "x[0]", "u2": 'y["k"]', "u3": "z.c"})
    ]


def test_a_graph_reachable_from_both_users_is_entered_once_per_checkpoint(
    index: TokenIndex,
) -> None:
    # One engine handed to both users, holding both users' data.
    engine = Box(history=[Box(note=A_CANARY), Box(note=B_CANARY)], settings={"mode": "x"})
    walker = Walker(index)
    claimed: dict[int, object] = {}
    mine, yours = Box(x=1), Box(x=2)  # alive for the whole checkpoint, as real roots are
    first = walker.walk({"engine": engine, "own": mine}, owner=A_ID, claimed=claimed)
    second = walker.walk({"engine": engine, "own": yours}, owner=B_ID, claimed=claimed)
    # A entered the engine and saw B's canary; B met the engine, recorded it, went no further.
    assert paths(first) == [("engine.history[1].note", B_CANARY)]
    assert paths(second) == []
    assert second.visited < first.visited
    shared = shared_between({A_ID: first, B_ID: second})
    assert [(f.type_name, dict(f.paths)) for f in shared] == [
        ("Box", {A_ID: "engine", B_ID: "engine"})
    ]
    # Without a shared ``claimed`` each walk enters everything (the per-event walks).
    alone = walker.walk({"engine": engine}, owner=B_ID)
    assert paths(alone) == [("engine.history[0].note", A_CANARY)]
