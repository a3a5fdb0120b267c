"""How the walk reads the types that hide state: logging handlers, caches, thread-locals."""

from __future__ import annotations

import functools
import logging
import threading
from typing import Any

import pytest

from harness.observe._walk_plans import cached_results, plan_for, thread_local_attributes
from harness.observe._walk_shared import shared_between
from harness.observe.tokens import TokenIndex
from harness.observe.walk import Walker
from suites.unit.observe.test_walk import Box, paths
from suites.unit.observe.users import A_ID, B_CANARY, B_ID, B_RUN, make_user


@pytest.fixture
def index() -> TokenIndex:
    return TokenIndex.build([make_user("a"), make_user("b")], runs=[(B_ID, B_RUN)])


class _Audit(logging.Handler):
    """Keeps every formatted line: an audit page's buffer."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_a_handler_is_walked_but_the_logging_tree_is_not(index: TokenIndex) -> None:
    audit = _Audit()
    audit.emit(logging.LogRecord("app", logging.INFO, __file__, 1, "ran %s", (B_RUN,), None))
    logger = logging.getLogger("suites.unit.test_walk_plans")
    adapter = logging.LoggerAdapter(logger, {"user": B_CANARY})
    result = Walker(index).walk({"engine": Box(audit=audit, log=adapter, logger=logger)})
    assert paths(result) == [
        ("engine.audit.lines[0]", f"ran {B_RUN}"),
        ('engine.log.extra["user"]', B_CANARY),
    ]


def test_a_buffering_handler_keeps_records_and_their_arguments(index: TokenIndex) -> None:
    from logging.handlers import MemoryHandler

    buffer = MemoryHandler(capacity=100)
    buffer.handle(logging.LogRecord("app", logging.INFO, __file__, 1, "for %s", (B_ID,), None))
    result = Walker(index).walk({"engine": Box(log=buffer)})
    assert ("engine.log.buffer[0].args[0]", B_ID) in paths(result)


def test_an_lru_cache_shows_its_keys_and_unbounded_results(index: TokenIndex) -> None:
    @functools.cache
    def profile(user_id: str) -> dict[str, str]:
        return {"owner": user_id}

    @functools.lru_cache(maxsize=8)
    def greeting(name: str) -> str:
        return f"hello {name}"

    profile(B_ID)
    greeting(B_CANARY)
    assert list(cached_results(profile)) == [B_ID]
    result = Walker(index).walk({"engine": Box(profile=profile, greet=greeting)})
    assert paths(result) == [  # breadth first: the keys, then inside the results
        ("engine.profile{cache key 0}", B_ID),
        ("engine.greet{cache key 0}", B_CANARY),  # a bounded cache hides its results
        ('engine.profile{cache value 0}["owner"]', B_ID),
    ]
    # A cached function is a function: holding the same one is not shared state by itself.
    assert plan_for(type(profile)).mutable is False


def test_a_shared_cache_of_mutable_results_is_shared_state(index: TokenIndex) -> None:
    @functools.cache
    def settings(tenant: str) -> dict[str, Any]:
        return {"tenant": tenant, "seen": []}

    settings("acme")
    walker = Walker(index)
    keep: dict[int, object] = {}
    results = {
        A_ID: walker.walk({"engine": Box(settings=settings)}, keep_alive=keep),
        B_ID: walker.walk({"engine": Box(settings=settings)}, keep_alive=keep),
    }
    shared = {found.paths[A_ID] for found in shared_between(results, keep_alive=keep)}
    # One dict handed to every caller: a write by one user is seen by the other.
    assert "engine.settings{cache value 0}" in shared


def test_a_thread_local_is_read_for_the_walking_thread(index: TokenIndex) -> None:
    local = threading.local()
    local.scope = {"user_id": B_ID}
    assert thread_local_attributes(local) == {"scope": {"user_id": B_ID}}
    result = Walker(index).walk({"engine": Box(current=local)})
    assert paths(result) == [('engine.current.scope["user_id"]', B_ID)]
    assert id(local) in result.mutable


def _pool_class(module: str) -> type:
    # A stand-in for a library's class: only its defining module matters to the plan.
    cls = type("Pool", (), {"__init__": lambda self: setattr(self, "rows", [B_CANARY])})
    cls.__module__ = module
    return cls


def test_library_internals_are_opaque_by_the_module_of_their_class(index: TokenIndex) -> None:
    internal = _pool_class("sqlalchemy.pool.impl")()
    own = _pool_class("myapp.sqlalchemy_models")()  # a user's module that only names the library
    assert plan_for(type(internal)).type_name == "<skip>"
    assert plan_for(type(own)).mutable
    result = Walker(index).walk({"engine": Box(pool=internal, mine=own)}, owner=A_ID)
    assert paths(result) == [("engine.mine.rows[0]", B_CANARY)]


def test_a_walk_past_its_budget_says_it_was_truncated(index: TokenIndex) -> None:
    big = Box(items=[*(Box(n=i) for i in range(19)), Box(note=B_CANARY)])
    cut = Walker(index, max_objects=5).walk({"engine": big}, owner=A_ID)
    assert cut.truncated and cut.visited == 5
    assert paths(cut) == []  # the leak beyond the budget was not seen: hence the note
    whole = Walker(index).walk({"engine": big}, owner=A_ID)
    assert not whole.truncated and paths(whole) == [("engine.items[19].note", B_CANARY)]
