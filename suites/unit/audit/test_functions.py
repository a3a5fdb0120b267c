"""Function checks: caches and cache keys, mutable defaults, closures with state."""

from __future__ import annotations

from suites.unit.audit.items import AuditSource, kinds, only


def test_lru_cache_on_a_plain_function_is_a_note(audit_source: AuditSource) -> None:
    items = audit_source(
        """
        import functools

        @functools.lru_cache(maxsize=64)
        def template(locale, tone):
            return locale + tone
        """
    )
    assert kinds(items) == [("cache", "note", 4)]


def test_cache_on_a_function_taking_a_user_is_an_error(audit_source: AuditSource) -> None:
    items = audit_source(
        """
        from functools import cache

        @cache
        def profile(user_id):
            return {"id": user_id}

        @cache
        def answer(question, ctx: "RequestContext"):
            return question
        """
    )
    assert kinds(items) == [("cache", "error", 4), ("cache", "error", 8)]
    assert "user_id" in items[0].why


def test_cache_on_a_method_is_a_warning_and_cached_property_a_note(
    audit_source: AuditSource,
) -> None:
    items = audit_source(
        """
        import functools

        class Worker:
            @functools.lru_cache
            def prompt(self, tone):
                return tone

            @staticmethod
            @functools.cache
            def shared(tone):
                return tone

            @functools.cached_property
            def settings(self):
                return {}
        """
    )
    assert [(i.name, i.severity) for i in items] == [
        ("pkg.mod.Worker.prompt", "warning"),
        ("pkg.mod.Worker.shared", "note"),
        ("pkg.mod.Worker.settings", "note"),
    ]


def test_uncached_functions_are_fine(audit_source: AuditSource) -> None:
    items = audit_source(
        """
        import functools

        def profile(user_id):
            return {"id": user_id}

        @functools.wraps(profile)
        def wrapper(user_id):
            return profile(user_id)
        """
    )
    assert items == []


def test_cachetools_key_dropping_an_argument(audit_source: AuditSource) -> None:
    items = audit_source(
        """
        import cachetools
        from cachetools.keys import hashkey

        @cachetools.cached(cachetools.TTLCache(100, 60), key=lambda query, user_id: hashkey(query))
        def search(query, user_id):
            return [query, user_id]

        def by_query(query, page):
            return hashkey(query)

        @cachetools.cached(cachetools.LRUCache(10), key=by_query)
        def results(query, page):
            return [query, page]
        """
    )
    assert kinds(items) == [("cache-key", "error", 5), ("cache-key", "warning", 12)]
    assert "user_id" in items[0].why and "page" in items[1].why


def test_cachetools_key_using_every_argument_is_not_a_key_item(audit_source: AuditSource) -> None:
    items = audit_source(
        """
        import cachetools
        from cachetools.keys import hashkey

        @cachetools.cached(cachetools.LRUCache(10), key=lambda query, page: hashkey(query, page))
        def results(query, page):
            return [query, page]

        @cachetools.cached(cachetools.LRUCache(10), key=lambda *args, **kwargs: hashkey(*args))
        def spread(query, page):
            return [query, page]
        """
    )
    assert kinds(items) == [("cache", "note", 5), ("cache", "note", 9)]


def test_mutable_default_changed_by_the_function_is_a_warning(audit_source: AuditSource) -> None:
    items = audit_source(
        """
        def note(run_id, text, _seen={}):
            _seen[run_id] = text

        def log(line, *, lines=[]):
            lines.append(line)
        """
    )
    assert kinds(items) == [("mutable-default", "warning", 2), ("mutable-default", "warning", 5)]


def test_unchanged_mutable_default_is_a_note_and_immutable_defaults_fine(
    audit_source: AuditSource,
) -> None:
    items = audit_source(
        """
        def read(keys=[], names=None, pair=(1, 2), mode="r"):
            return [k for k in keys]
        """
    )
    assert kinds(items) == [("mutable-default", "note", 2)]


def test_closure_keeping_state_is_a_note(audit_source: AuditSource) -> None:
    items = audit_source(
        """
        def counter():
            count = 0

            def bump():
                nonlocal count
                count += 1
                return count

            return bump
        """
    )
    item = only(items, "closure-state")
    assert (item.severity, item.line) == ("note", 5)


def test_closure_that_only_reads_is_fine(audit_source: AuditSource) -> None:
    items = audit_source(
        """
        def greeter(greeting):
            parts = [greeting]

            def greet(name):
                return " ".join([*parts, name])

            return greet
        """
    )
    assert items == []


def test_closure_that_never_escapes_is_fine(audit_source: AuditSource) -> None:
    items = audit_source(
        """
        def total(values):
            seen = []

            def add(value):
                seen.append(value)

            for value in values:
                add(value)
            return len(seen)
        """
    )
    assert items == []


def test_caches_and_defaults_of_functions_made_per_call_are_fine(
    audit_source: AuditSource,
) -> None:
    items = audit_source(
        """
        import functools

        def handle(user_id):
            @functools.lru_cache
            def lookup(key, user=user_id):
                return key

            def collect(value, into=[]):
                into.append(value)

            return lookup, collect
        """
    )
    assert items == []


def test_functions_defined_under_an_import_time_if_are_checked(audit_source: AuditSource) -> None:
    items = audit_source(
        """
        import functools
        import sys

        if sys.version_info >= (3, 11):
            @functools.cache
            def profile(user_id):
                return user_id
        """
    )
    assert kinds(items) == [("cache", "error", 6)]


def test_cachedmethod_is_a_note_unless_its_key_drops_an_argument(
    audit_source: AuditSource,
) -> None:
    items = audit_source(
        """
        import operator
        from cachetools import cachedmethod
        from cachetools.keys import hashkey

        class Profiles:
            @cachedmethod(operator.attrgetter("cache"))
            def load(self, user_id):
                return user_id

            @cachedmethod(operator.attrgetter("cache"), key=lambda self, q, u: hashkey(q))
            def search(self, query, user):
                return query
        """
    )
    assert kinds(items) == [("cache", "note", 7), ("cache-key", "error", 11)]
