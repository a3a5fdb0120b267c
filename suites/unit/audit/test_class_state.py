"""Class-level checks: mutable class attributes, dataclass default objects, run-time writes."""

from __future__ import annotations

from suites.unit.audit.items import AuditSource, kinds, only


def test_class_attribute_mutated_through_self_is_a_warning(audit_source: AuditSource) -> None:
    items = audit_source(
        """
        class Outbox:
            sent = []

            def post(self, message):
                self.sent.append(message)
        """
    )
    item = only(items, "class-mutable")
    assert (item.line, item.severity, item.name) == (3, "warning", "pkg.mod.Outbox.sent")
    assert "line 6" in item.why


def test_class_attribute_mutated_in_a_subclass_or_through_cls(audit_source: AuditSource) -> None:
    items = audit_source(
        """
        class Base:
            _active = {}

        class Child(Base):
            def start(self, run_id):
                self._active[run_id] = self

        class Registry:
            _all = set()

            @classmethod
            def add(cls, thing):
                cls._all.add(thing)
        """
    )
    assert [(i.name, i.severity) for i in items] == [
        ("pkg.mod.Base._active", "warning"),
        ("pkg.mod.Registry._all", "warning"),
    ]


def test_unmutated_class_container_is_a_note(audit_source: AuditSource) -> None:
    items = audit_source("class Config:\n    defaults = {'tone': 'brief'}\n")
    assert kinds(items) == [("class-mutable", "note", 2)]


def test_dataclass_default_object_is_a_warning(audit_source: AuditSource) -> None:
    items = audit_source(
        """
        import dataclasses

        class Notebook:
            def __init__(self):
                self.lines = []

        @dataclasses.dataclass
        class Stats:
            steps: int = 0
            book: Notebook = Notebook()
            other: Notebook = dataclasses.field(default=Notebook())
        """
    )
    assert kinds(items) == [("class-mutable", "warning", 11), ("class-mutable", "warning", 12)]


def test_per_instance_state_and_immutable_class_attributes_are_fine(
    audit_source: AuditSource,
) -> None:
    items = audit_source(
        """
        import dataclasses
        import enum
        from types import MappingProxyType
        from typing import ClassVar, TypedDict

        from pydantic import BaseModel

        class Outbox:
            sent = []
            KINDS: ClassVar[tuple[str, ...]] = ("a", "b")
            TABLE = MappingProxyType({"a": 1})
            __slots__ = ["sent", "closed"]

            def __init__(self):
                self.sent = []

            def post(self, message):
                self.sent.append(message)

        @dataclasses.dataclass
        class Stats:
            lines: list = dataclasses.field(default_factory=list)

        class Mode(enum.Enum):
            FAST = ["fast"]

        class Options(TypedDict):
            names: list

        class Request(BaseModel):
            tags: list[str] = []

            def tag(self, name):
                self.tags.append(name)
        """
    )
    assert items == []


def test_class_attribute_assigned_at_run_time(audit_source: AuditSource) -> None:
    items = audit_source(
        """
        class Engine:
            _instance = None
            current_user = ""

            @classmethod
            def instance(cls):
                if cls._instance is None:
                    cls._instance = cls()
                return cls._instance

        def switch(user_id):
            Engine.current_user = user_id

        def label(name):
            setattr(Engine, "label", name)
        """
    )
    runtime = [(i.name, i.line) for i in items if i.kind == "class-runtime-attr"]
    assert runtime == [
        ("pkg.mod.Engine._instance", 9),
        ("pkg.mod.Engine.current_user", 13),
        ("pkg.mod.Engine.label", 16),
    ]
    accessor = only(items, "accessor")
    assert accessor.name == "pkg.mod.Engine.instance"


def test_instance_attribute_writes_are_not_class_writes(audit_source: AuditSource) -> None:
    items = audit_source(
        """
        class Engine:
            current_user = ""

            def switch(self, user_id):
                self.current_user = user_id
                setattr(self, "other", user_id)
        """
    )
    assert items == []
