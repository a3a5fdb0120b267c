"""Module-level checks: containers and instances, singletons, thread-locals, ContextVars,
scoped sessions, HTTP clients, closures made at import, accessors."""

from __future__ import annotations

from suites.unit.audit.items import AuditSource, kinds, only


def test_mutated_module_container_is_a_warning_with_the_mutation_line(
    audit_source: AuditSource,
) -> None:
    items = audit_source(
        """
        _cache = {}

        def remember(user_id, value):
            _cache[user_id] = value
        """
    )
    item = only(items, "module-mutable")
    assert (item.severity, item.line, item.column) == ("warning", 2, 1)
    assert item.name == "pkg.mod._cache"
    assert item.path == "pkg/mod.py"
    assert "line 5" in item.why


def test_module_instance_changed_through_a_method_or_attribute_is_a_warning(
    audit_source: AuditSource,
) -> None:
    items = audit_source(
        """
        class Registry:
            def __init__(self):
                self.items = []

        class Slot:
            user_id = ""

        _registry = Registry()
        CURRENT = Slot()

        def register(thing):
            _registry.items.append(thing)

        def enter(user_id):
            CURRENT.user_id = user_id
        """
    )
    assert [(i.name, i.severity) for i in items if i.kind == "module-mutable"] == [
        ("pkg.mod._registry", "warning"),
        ("pkg.mod.CURRENT", "warning"),
    ]


def test_unchanged_module_container_is_only_a_note(audit_source: AuditSource) -> None:
    items = audit_source("ROUTES = {'a': 1}\nNAMES = ['x']\n")
    assert kinds(items) == [("module-mutable", "note", 1), ("module-mutable", "note", 2)]


def test_immutable_module_values_are_never_items(audit_source: AuditSource) -> None:
    items = audit_source(
        """
        import enum
        import logging
        import re
        import threading
        from dataclasses import dataclass
        from types import MappingProxyType
        from typing import Final, NamedTuple

        @dataclass(frozen=True, slots=True)
        class Limits:
            users: int = 2

        class Color(enum.Enum):
            RED = 1

        class Point(NamedTuple):
            x: int

        NAMES = ("a", "b")
        KEYS = frozenset({"a"})
        TABLE = MappingProxyType({"a": 1})
        PATTERN = re.compile("x+")
        log = logging.getLogger(__name__)
        MAX: Final = 3
        DEFAULT_LIMITS = Limits()
        ORIGIN = Point(0)
        FAVOURITE = Color.RED
        _lock = threading.Lock()
        __all__ = ["NAMES"]

        def use(name):
            log.info("x %s", name)
            return TABLE[name], PATTERN.match(name), DEFAULT_LIMITS.users, ORIGIN.x
        """
    )
    assert items == []


def test_singleton_pattern_is_reported_at_the_module_name(audit_source: AuditSource) -> None:
    items = audit_source(
        """
        class Engine:
            pass

        _instance = None

        def get_engine():
            global _instance
            if _instance is None:
                _instance = Engine()
            return _instance
        """
    )
    singleton = only(items, "singleton")
    assert (singleton.line, singleton.severity) == (5, "warning")
    assert "Engine" in singleton.match_names
    accessor = only(items, "accessor")
    assert (accessor.line, accessor.name) == (7, "pkg.mod.get_engine")


def test_global_rebinding_of_a_constant_is_a_global_write(audit_source: AuditSource) -> None:
    items = audit_source(
        """
        _last_user = ""

        def seen(user_id):
            global _last_user
            _last_user = user_id
        """
    )
    assert kinds(items) == [("global-write", "warning", 2)]


def test_no_global_statement_means_a_local_name(audit_source: AuditSource) -> None:
    items = audit_source(
        """
        _instance = None

        def build():
            _instance = object()
            _instance_list = []
            _instance_list.append(_instance)
            return _instance
        """
    )
    assert items == []


def test_module_level_threading_local_is_a_warning(audit_source: AuditSource) -> None:
    items = audit_source("import threading\n_local = threading.local()\n")
    assert kinds(items) == [("thread-local", "warning", 2)]


def test_threading_local_inside_a_function_is_not_reported(audit_source: AuditSource) -> None:
    items = audit_source("import threading\n\ndef make():\n    return threading.local()\n")
    assert items == []


def test_contextvar_set_without_reset_is_a_warning(audit_source: AuditSource) -> None:
    items = audit_source(
        """
        from contextvars import ContextVar

        current_user = ContextVar("current_user")

        def handle(user):
            current_user.set(user)
        """
    )
    assert kinds(items) == [("contextvar-no-reset", "warning", 4)]


def test_contextvar_set_and_reset_is_fine(audit_source: AuditSource) -> None:
    items = audit_source(
        """
        import contextvars

        current_user = contextvars.ContextVar("current_user")

        def handle(user):
            token = current_user.set(user)
            try:
                return current_user.get()
            finally:
                current_user.reset(token)
        """
    )
    assert items == []


def test_thread_scoped_session_used_from_async_code_is_a_warning(
    audit_source: AuditSource,
) -> None:
    items = audit_source(
        """
        from sqlalchemy.orm import scoped_session, sessionmaker

        Session = scoped_session(sessionmaker())

        async def load(user_id):
            return Session.get(User, user_id)
        """
    )
    assert kinds(items) == [("scoped-session", "warning", 4)]


def test_scoped_session_with_a_scopefunc_or_sync_use_is_fine(audit_source: AuditSource) -> None:
    items = audit_source(
        """
        import asyncio
        from sqlalchemy.orm import scoped_session, sessionmaker

        TaskSession = scoped_session(sessionmaker(), scopefunc=asyncio.current_task)
        ThreadSession = scoped_session(sessionmaker())

        async def load(user_id):
            return TaskSession.get(User, user_id)

        def load_sync(user_id):
            return ThreadSession.get(User, user_id)
        """
    )
    assert items == []


def test_module_and_class_level_http_clients_are_warnings(audit_source: AuditSource) -> None:
    items = audit_source(
        """
        import httpx
        import requests

        client = httpx.AsyncClient()

        class Api:
            session = requests.Session()
        """
    )
    assert [(i.kind, i.name) for i in items] == [
        ("shared-client", "pkg.mod.client"),
        ("shared-client", "pkg.mod.Api.session"),
    ]


def test_per_call_clients_and_cookieless_sessions_are_fine(audit_source: AuditSource) -> None:
    items = audit_source(
        """
        import aiohttp
        import httpx

        pooled = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())

        async def fetch(url):
            async with httpx.AsyncClient() as client:
                return await client.get(url)
        """
    )
    assert items == []


def test_closure_made_once_at_import_is_a_warning(audit_source: AuditSource) -> None:
    items = audit_source(
        """
        def make_memo():
            seen = {}

            def remember(key, value):
                seen[key] = value

            return remember

        remember = make_memo()
        """
    )
    item = only(items, "closure-state")
    assert (item.line, item.severity, item.name) == (10, "warning", "pkg.mod.remember")


def test_accessor_of_an_immutable_value_is_fine(audit_source: AuditSource) -> None:
    items = audit_source(
        """
        _NAMES = ("a", "b")

        def get_names():
            return _NAMES
        """
    )
    assert items == []


def test_nonlocal_rebinding_is_not_a_global_write(audit_source: AuditSource) -> None:
    items = audit_source(
        """
        count = 0

        def walk(nodes):
            count = 0

            def visit(node):
                nonlocal count
                count += 1

            for node in nodes:
                visit(node)
            return count
        """
    )
    assert items == []


def test_accessor_takes_the_severity_of_what_it_returns(audit_source: AuditSource) -> None:
    items = audit_source(
        """
        _SETTINGS = {"tone": "brief"}
        _ROUTES = {}  # harness: shared-ok filled at import, read-only afterwards

        def get_settings():
            return _SETTINGS

        def get_routes():
            return _ROUTES
        """
    )
    accessor = only(items, "accessor")
    assert (accessor.name, accessor.severity) == ("pkg.mod.get_settings", "note")
    assert "pkg/mod.py:2" in accessor.why


def test_module_instance_changed_through_its_own_methods_is_a_warning(
    audit_source: AuditSource,
) -> None:
    items = audit_source(
        """
        class Store:
            def __init__(self):
                self.values = {}

            def put_value(self, key, value):
                self.values[key] = value

            def read(self, key):
                return self.values.get(key)

            def rename(self, label):
                self.label = label

        _store = Store()
        _other = Store()

        def remember(user_id, value):
            _store.put_value(user_id, value)
            return _other.read(user_id)
        """
    )
    assert [(i.name, i.severity) for i in items] == [
        ("pkg.mod._store", "warning"),
        ("pkg.mod._other", "note"),
    ]
    assert "line 19" in items[0].why
