"""``Walker.sweep``: the walk without paths that most walks of a correct target end with.

The sweep may only ever say "nothing to report" when the walk would report nothing: for any
graph, a walk that finds a value (or, at a checkpoint, an object two owners reach) means a
sweep that hands over (None). Generated graphs check that both ways, next to the cases the
walk reads in its own way.
"""

from __future__ import annotations

import collections
import functools
import types
from typing import Any, ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.observe import CONTEXT_ROOTS, root_key
from harness.observe._walk_plans import (
    SWEEP_APART,
    SWEEP_DICT,
    SWEEP_MAPPING,
    SWEEP_NONE,
    SWEEP_REFERENTS,
    SWEEP_WALK,
    plan_for,
)
from harness.observe._walk_shared import shared_between
from harness.observe.tokens import TokenIndex
from harness.observe.walk import Walker
from suites.unit.observe.users import A_CANARY, A_ID, A_RUN, B_CANARY, B_ID, B_RUN, make_user

A_OLD_RUN = "run_aaaaaaaaaaa2"  # A's, not active in these walks


INDEX = TokenIndex.build(
    [make_user("a"), make_user("b")],
    runs=[(A_ID, A_RUN), (A_ID, A_OLD_RUN), (B_ID, B_RUN)],
)
ACTIVE = (A_RUN,)


@pytest.fixture
def index() -> TokenIndex:
    return INDEX


class Box:
    def __init__(self, **attributes: Any) -> None:
        self.__dict__.update(attributes)


class Slotted:
    __slots__ = ("first", "second")

    def __init__(self, first: Any, second: Any) -> None:
        self.first, self.second = first, second


class Tagged(dict[str, Any]):
    """A dict subclass with an attribute of its own."""

    def __init__(self, items: dict[str, Any]) -> None:
        super().__init__(items)
        self.tag = A_CANARY


def _holder_class(value: Any) -> type:
    """A fresh class whose class-level attribute holds ``value`` (state of every instance)."""
    return type("ClassLevelHolder", (), {"entries": value, "__module__": __name__})


def sweep(walker: Walker, roots: dict[str, Any], **options: Any) -> int | None:
    return walker.sweep(roots, owner=A_ID, active_runs=ACTIVE, **options)


def walk_values(walker: Walker, roots: dict[str, Any]) -> list[tuple[str, str]]:
    result = walker.walk(roots, owner=A_ID, active_runs=ACTIVE)
    return [(found.path, found.value) for found in result.values]


# --------------------------------------------------------------------------- examples


def test_a_clean_graph_is_swept_and_counted_like_the_walk(index: TokenIndex) -> None:
    engine = Box(
        context=Box(user_id=A_ID, run_id=A_RUN, meta=types.MappingProxyType({"c": A_CANARY})),
        history=collections.deque([{"note": f"for {A_CANARY}"}]),
        pair=Slotted([A_ID], (A_RUN, 3)),
        clock=len,  # a builtin: its __self__ is a module, skipped
    )
    walker = Walker(index)
    assert walk_values(walker, {"engine": engine}) == []
    visited = walker.walk({"engine": engine}, owner=A_ID, active_runs=ACTIVE).visited
    swept = sweep(walker, {"engine": engine})
    assert swept is not None
    # It meets the objects the walk meets: not the dict behind the read-only view, which the
    # view does not hand out.
    assert swept == visited


@pytest.mark.parametrize(
    "holder",
    [
        pytest.param(lambda text: Box(note=text), id="attribute"),
        pytest.param(lambda text: {text: 1}, id="dict-key"),
        pytest.param(lambda text: Tagged({"k": text}), id="dict-subclass"),
        pytest.param(lambda text: [[{"deep": (text,)}]], id="nested"),
        pytest.param(lambda text: Slotted(None, text), id="slot"),
        pytest.param(lambda text: frozenset({text}), id="frozenset"),
        pytest.param(lambda text: types.MappingProxyType({"k": text}), id="read-only-view"),
        pytest.param(lambda text: Box(note=text).__repr__, id="bound-method"),
        pytest.param(lambda text: lambda: text, id="closure"),
        pytest.param(lambda text: text.encode(), id="bytes"),
        pytest.param(lambda text: _holder_class([text])(), id="class-level"),
    ],
)
@pytest.mark.parametrize("text", [B_CANARY, f"{A_CANARY} {B_ID}", A_OLD_RUN])
def test_what_the_walk_reports_stops_the_sweep(index: TokenIndex, holder: Any, text: str) -> None:
    roots = {"engine": Box(user_id=A_ID, held=holder(text))}
    walker = Walker(index)
    assert walk_values(walker, roots), "the walk reports it"
    assert sweep(walker, roots) is None
    # The same graph with the owner's own data is swept to the end.
    clean = {"engine": Box(user_id=A_ID, held=holder(A_CANARY))}
    assert walk_values(walker, clean) == []
    assert sweep(walker, clean) is not None


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(ValueError("x"), id="exception"),
        pytest.param(functools.partial(print), id="partial"),
        pytest.param(functools.lru_cache(maxsize=None)(lambda: None), id="lru-cache"),
    ],
)
def test_what_the_walk_reads_its_own_way_is_left_to_the_walk(
    index: TokenIndex, value: object
) -> None:
    assert sweep(Walker(index), {"engine": Box(held=value)}) is None


def test_sweep_kinds_per_type() -> None:
    assert plan_for(Box).sweep == SWEEP_DICT
    assert plan_for(Slotted).sweep == SWEEP_REFERENTS
    # A dict of string keys does not report its keys to the collector: read apart.
    assert plan_for(dict).sweep == SWEEP_MAPPING
    assert plan_for(collections.OrderedDict).sweep == SWEEP_MAPPING
    assert plan_for(types.MappingProxyType).sweep == SWEEP_APART
    assert plan_for(types.FunctionType).sweep == SWEEP_APART
    assert plan_for(bytes).sweep == SWEEP_APART
    assert plan_for(ValueError).sweep == SWEEP_WALK
    assert plan_for(type(open)).sweep == SWEEP_APART  # a builtin: its __self__
    unhashable = type("Table", (), {"__hash__": None, "__slots__": ()})
    assert plan_for(unhashable).sweep == SWEEP_NONE


def test_an_object_met_first_by_another_owner_stops_a_checkpoint_sweep(
    index: TokenIndex,
) -> None:
    shared = Box(settings={"mode": "fast"})
    mine, yours = Box(engine=shared), Box(engine=shared)
    walker = Walker(index)
    claimed: dict[int, object] = {}
    pins: list[object] = []
    first = walker.sweep({"s": mine}, owner=A_ID, claimed=claimed, pins=pins)
    assert first is not None
    assert walker.sweep({"s": yours}, owner=B_ID, claimed=claimed, pins=pins) is None
    assert any(pin is shared for pin in pins)  # met objects stay alive for the checkpoint
    # Alone (a walk at a tool event), the same graph is clean for B too.
    assert walker.sweep({"s": yours}, owner=B_ID) is not None


def test_a_read_only_view_two_owners_hold_is_not_a_reason_to_walk(index: TokenIndex) -> None:
    # A class-level registry of kinds, handed out through a read-only view: what the view shows
    # is read, but the dict behind it is not shared through it (the walk's rule too).
    kinds: dict[str, object] = {"scripted": Box}
    view = types.MappingProxyType(kinds)
    walker = Walker(index)
    claimed: dict[int, object] = {}
    assert walker.sweep({"e": Box(kinds=view)}, owner=A_ID, claimed=claimed) is not None
    assert walker.sweep({"e": Box(kinds=view)}, owner=B_ID, claimed=claimed) is not None
    # A list inside is writable by whoever holds the view: that one is shared.
    kinds["tools"] = []
    claimed = {}
    assert walker.sweep({"e": Box(kinds=view)}, owner=A_ID, claimed=claimed) is not None
    assert walker.sweep({"e": Box(kinds=view)}, owner=B_ID, claimed=claimed) is None


def test_the_budget_hands_over_to_the_walk(index: TokenIndex) -> None:
    chain: Any = [A_ID]
    for _ in range(40):
        chain = [chain]
    assert Walker(index, max_depth=32).sweep({"deep": chain}, owner=A_ID) is None
    wide = [Box() for _ in range(100)]
    assert Walker(index, max_objects=50).sweep({"wide": wide}, owner=A_ID) is None
    assert Walker(index).sweep({"wide": wide}, owner=A_ID) == 101


def test_class_level_state_is_read_once_per_sweep(index: TokenIndex) -> None:
    class Engine:
        registry: ClassVar[dict[str, str]] = {}

    Engine.registry["x"] = B_CANARY
    walker = Walker(index)
    roots = {"one": Engine(), "two": Engine()}
    assert walk_values(walker, roots) == [('Engine.registry["x"]', B_CANARY)]
    assert sweep(walker, roots) is None
    Engine.registry["x"] = A_CANARY
    assert sweep(walker, roots) == 3  # two engines, one registry


# --------------------------------------------------------------------------- generated graphs

TEXTS = st.sampled_from(
    ["plain", A_ID, A_CANARY, A_RUN, A_OLD_RUN, B_CANARY, B_RUN, f"{A_ID}/{B_CANARY}", "x_y"]
)
SHARED = Box(note="shared")  # one object that generated graphs of both owners may hold


def _containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(children, max_size=3),
        st.lists(children, max_size=3).map(tuple),
        st.lists(children, max_size=3).map(collections.deque),
        st.dictionaries(TEXTS, children, max_size=3),
        st.dictionaries(TEXTS, children, max_size=2).map(collections.OrderedDict),
        st.dictionaries(TEXTS, children, max_size=2).map(Tagged),
        st.dictionaries(TEXTS, children, max_size=2).map(types.MappingProxyType),
        st.frozensets(TEXTS, max_size=2),
        st.lists(children, max_size=3).map(lambda items: Box(items=items)),
        st.tuples(children, children).map(lambda pair: Slotted(*pair)),
        children.map(lambda value: Box(value=value).__repr__),
        children.map(lambda value: lambda: value),
        children.map(lambda value: _holder_class(value)()),
        TEXTS.map(str.encode),
    )


GRAPHS = st.recursive(
    st.one_of(TEXTS, st.integers(0, 3), st.none(), st.just(SHARED)), _containers, max_leaves=12
)
REPRODUCIBLE = settings(database=None, derandomize=True, max_examples=300, deadline=None)


@REPRODUCIBLE
@given(graph=GRAPHS)
def test_a_sweep_never_passes_a_graph_the_walk_reports(graph: Any) -> None:
    walker = Walker(INDEX)
    roots = {"root": graph}
    reported = walk_values(walker, roots)
    swept = sweep(walker, roots)
    if reported:
        assert swept is None, reported
    else:
        # Every kind generated here is one the sweep reads: a clean graph is swept to the end.
        assert swept is not None


@REPRODUCIBLE
@given(mine=GRAPHS, yours=GRAPHS)
def test_a_checkpoint_sweep_never_passes_what_the_walks_find_shared(mine: Any, yours: Any) -> None:
    walker = Walker(INDEX)
    pins: dict[int, object] = {}
    claimed: dict[int, object] = {}
    walks = {
        A_ID: walker.walk({"root": mine}, owner=A_ID, claimed=claimed, keep_alive=pins),
        B_ID: walker.walk({"root": yours}, owner=B_ID, claimed=claimed, keep_alive=pins),
    }
    shared = shared_between(walks, keep_alive=pins)
    swept_claimed: dict[int, object] = {}
    held: list[object] = []
    answers = [
        walker.sweep({"root": mine}, owner=A_ID, claimed=swept_claimed, pins=held),
        walker.sweep({"root": yours}, owner=B_ID, claimed=swept_claimed, pins=held),
    ]
    if shared or any(walk.values for walk in walks.values()):
        assert None in answers


# --------------------------------------------------------------------------- finished runs


def test_a_finished_run_of_the_owner_matters_only_under_the_context_roots(
    index: TokenIndex,
) -> None:
    history = [{"run_id": A_OLD_RUN, "note": A_CANARY}]
    walker = Walker(index)
    in_history = {"context": Box(run_id=A_RUN), "registry": Box(history=history)}
    assert walk_values(walker, in_history) == [('registry.history[0]["run_id"]', A_OLD_RUN)]
    assert sweep(walker, in_history) is None  # by default, anywhere
    assert sweep(walker, in_history, stale_under=CONTEXT_ROOTS) is not None
    # In the live context it is a stale context: the sweep hands over.
    stale = {"context[run_aaaaaaaaaaaa]": Box(run_id=A_OLD_RUN), "registry": Box()}
    assert sweep(walker, stale, stale_under=CONTEXT_ROOTS) is None
    # Reachable from both, an object is judged as the context's, whatever the roots' order.
    both = {"registry": Box(history=history), "agents": {"a": Box(history=history)}}
    assert sweep(walker, both, stale_under=CONTEXT_ROOTS) is None
    # Another user's data is never history.
    foreign = {"context": Box(), "registry": Box(history=[B_RUN])}
    assert sweep(walker, foreign, stale_under=CONTEXT_ROOTS) is None


@REPRODUCIBLE
@given(context=GRAPHS, registry=GRAPHS)
def test_with_context_roots_a_sweep_never_passes_what_the_context_oracle_reads(
    context: Any, registry: Any
) -> None:
    walker = Walker(INDEX)
    roots = {"context": context, "registry": registry}
    result = walker.walk(roots, owner=A_ID, active_runs=ACTIVE)
    judged = []
    for found in result.values:
        tokens = INDEX.scan(found.value)
        foreign = any(owner != A_ID for _token, owner in tokens)
        stale = any(INDEX.kind(t) == "run_id" and t not in ACTIVE for t, _owner in tokens)
        if foreign or (stale and root_key(found.path) in CONTEXT_ROOTS):
            judged.append(found)
    swept = walker.sweep(roots, owner=A_ID, active_runs=ACTIVE, stale_under=CONTEXT_ROOTS)
    if judged:
        assert swept is None, judged
