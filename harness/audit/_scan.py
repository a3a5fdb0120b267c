"""The module-level and class-level checks of one module.

Module level: mutable containers and instances, the singleton pattern and other ``global``
writes, ``threading.local``, ContextVars set without reset, ``scoped_session`` used from async
code, long-lived HTTP clients, and closures made once at import time. Class level: mutable class
attributes (and dataclass defaults that are objects), the same special values, and class
attributes assigned at run time. The function checks live in :mod:`harness.audit._functions`.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterator

from harness.audit._collect import Collector
from harness.audit._config import Allowlist
from harness.audit._functions import check_functions, closure_factories
from harness.audit._records import AuditItem
from harness.audit._source import ModuleSource
from harness.audit._usage import scan_usage
from harness.audit._values import CLIENTS, callee, classify, import_aliases

__all__ = ["immutable_class_names", "module_bindings", "scan_module"]

_ENUM_BASES = frozenset({"Enum", "IntEnum", "StrEnum", "Flag", "IntFlag", "NamedTuple"})
# Class bodies that declare fields rather than hold values: pydantic copies a mutable default
# into each instance, a TypedDict or Protocol body is only annotations.
_DECLARATION_BASES = frozenset({"TypedDict", "Protocol", "BaseModel", "BaseSettings", "SQLModel"})


def _is_dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


def _base_names(node: ast.ClassDef) -> set[str]:
    names = set()
    for base in node.bases:
        target = base.value if isinstance(base, ast.Subscript) else base
        if isinstance(target, ast.Name):
            names.add(target.id)
        elif isinstance(target, ast.Attribute):
            names.add(target.attr)
    return names


def _dataclass_options(node: ast.ClassDef) -> tuple[bool, bool]:
    """(is a dataclass, is frozen)."""
    for decorator in node.decorator_list:
        call = decorator if isinstance(decorator, ast.Call) else None
        target = call.func if call else decorator
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name == "dataclass":
            frozen = any(
                keyword.arg == "frozen"
                and isinstance(keyword.value, ast.Constant)
                and keyword.value.value is True
                for keyword in (call.keywords if call else [])
            )
            return True, frozen
    return False, False


def immutable_class_names(trees: Collection[ast.Module]) -> frozenset[str]:
    """Simple names of the classes whose instances are immutable: frozen dataclasses, enums,
    named tuples (one pre-pass over every audited module)."""
    names = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and (
                _dataclass_options(node)[1] or _base_names(node) & _ENUM_BASES
            ):
                names.add(node.name)
    return frozenset(names)


def module_bindings(body: list[ast.stmt]) -> Iterator[tuple[ast.stmt, str, ast.expr | None]]:
    """``(statement, name, value)`` for each name bound at this level (into if/try blocks,
    never into functions or classes)."""
    for statement in body:
        if isinstance(statement, ast.Assign):
            for target in statement.targets:
                if isinstance(target, ast.Name):
                    yield statement, target.id, statement.value
        elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            yield statement, statement.target.id, statement.value
        elif isinstance(statement, ast.If | ast.Try | ast.With):
            for block in ("body", "orelse", "finalbody", "handlers"):
                for inner in getattr(statement, block, []):
                    yield from module_bindings(
                        inner.body if isinstance(inner, ast.ExceptHandler) else [inner]
                    )


def _special(
    collector: Collector, statement: ast.stmt, value: ast.expr | None, name: str, where: str
) -> bool:
    """The values with a kind of their own; True when ``value`` was one of them."""
    if not isinstance(value, ast.Call):
        return False
    what = callee(value, collector.aliases)
    usage = collector.usage
    short = name.rpartition(".")[2]
    if what in ("threading.local", "_threading_local.local"):
        collector.add(
            statement,
            "thread-local",
            "warning",
            f"threading.local at {where} level: under asyncio one thread runs every user's "
            "tasks, so a value set for one request is read by another",
            name,
            (short,),
        )
        return True
    if what == "contextvars.ContextVar":
        calls = usage.calls.get(short, set())
        if where == "module" and "set" in calls and "reset" not in calls:
            collector.add(
                statement,
                "contextvar-no-reset",
                "warning",
                f"ContextVar {short} is set but never reset in this module: pair each "
                "`token = var.set(v)` with `var.reset(token)` in a finally block",
                name,
                (short,),
            )
        return True
    if what.endswith("scoped_session"):
        thread_scoped = not any(keyword.arg == "scopefunc" for keyword in value.keywords)
        if (
            thread_scoped
            and not what.endswith("async_scoped_session")
            and short in usage.async_loads
        ):
            collector.add(
                statement,
                "scoped-session",
                "warning",
                f"scoped_session {short} uses the default thread scope and is used from "
                "async def code: every task of the thread gets the same session",
                name,
                (short,),
            )
        return True
    if what in CLIENTS:
        jar = next((k.value for k in value.keywords if k.arg == "cookie_jar"), None)
        if isinstance(jar, ast.Call) and callee(jar, collector.aliases).endswith("DummyCookieJar"):
            return True
        collector.add(
            statement,
            "shared-client",
            "warning",
            f"{what} at {where} level keeps one cookie jar for every user: a cookie set by one "
            "user's response is sent with the next user's request",
            name,
            (short, what.rpartition(".")[2]),
        )
        return True
    return False


def _type_name(value: ast.expr | None) -> tuple[str, ...]:
    if isinstance(value, ast.Call):
        func = value.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name[:1].isupper():
            return (name,)
    return ()


def _changed_through_methods(collector: Collector, name: str, value: ast.expr | None) -> int | None:
    """The first line where a function calls a method of ``name`` that changes ``self``
    (for an instance of a class of this module)."""
    usage = collector.usage
    changing = set().union(*(usage.mutating_methods.get(cls, set()) for cls in _type_name(value)))
    lines = [
        line
        for (target, method), line in usage.method_calls.items()
        if target == name and method in changing
    ]
    return min(lines, default=None)


def _check_module_level(collector: Collector, factories: Collection[str]) -> None:
    usage = collector.usage
    seen: set[str] = set()
    for statement, name, value in module_bindings(collector.source.tree.body):
        if _is_dunder(name) or name in seen:
            continue
        qualified = collector.qualified(name)
        if _special(collector, statement, value, qualified, "module"):
            seen.add(name)
            continue
        if (
            isinstance(value, ast.Call)
            and isinstance(value.func, ast.Name)
            and value.func.id in factories
        ):
            seen.add(name)
            collector.add(
                statement,
                "closure-state",
                "warning",
                f"{name} = {value.func.id}() makes one closure at import time; the state it "
                "closes over is shared by every request that calls it",
                qualified,
                (name, value.func.id),
            )
            continue
        kind = classify(value, collector.aliases, collector.immutable_classes)
        mutated = usage.mutated.get(name)
        if mutated is None and kind == "instance":
            mutated = _changed_through_methods(collector, name, value)
        rebound = usage.global_writes.get(name)
        if rebound is not None:
            seen.add(name)
            singleton = isinstance(value, ast.Constant) and value.value is None
            collector.add(
                statement,
                "singleton" if singleton else "global-write",
                "warning",
                (
                    f"{name} starts as None and line {rebound[0]} fills it through `global`: "
                    "one instance for the whole process, shared by every user"
                    if singleton
                    else f"line {rebound[0]} rebinds module-level {name} through `global`: "
                    "process-wide state written while serving requests"
                ),
                qualified,
                (name, *_type_name(rebound[1])),
            )
            continue
        if kind == "immutable" or (kind == "unknown" and mutated is None):
            continue
        seen.add(name)
        what = "container" if kind == "container" else "object"
        if mutated is not None:
            why = (
                f"module-level {what} {name} is changed at line {mutated}: it outlives the "
                "request and is shared by every user"
            )
        else:
            why = (
                f"module-level {what} {name} is mutable and process-wide (not changed in this "
                "module; make it immutable if it is read-only)"
            )
        collector.add(
            statement,
            "module-mutable",
            "warning" if mutated is not None else "note",
            why,
            qualified,
            (name, *_type_name(value)),
        )
    for name, (line, _value) in sorted(usage.global_writes.items()):
        if name not in seen and not _is_dunder(name):
            collector.add(
                line,
                "global-write",
                "warning",
                f"a function rebinds module-level {name} through `global`: process-wide state",
                collector.qualified(name),
                (name,),
            )


def _subclasses(tree: ast.Module) -> dict[str, set[str]]:
    """class -> itself and every class of the module deriving from it (transitively)."""
    bases = {
        node.name: _base_names(node) for node in ast.walk(tree) if isinstance(node, ast.ClassDef)
    }
    family = {name: {name} for name in bases}
    changed = True
    while changed:
        changed = False
        for name, parents in bases.items():
            for parent in parents:
                if parent in family and not family[name] <= family[parent]:
                    family[parent] |= family[name]
                    changed = True
    return family


def _class_value(value: ast.expr | None) -> ast.expr | None:
    """The default object of a ``dataclasses.field(default=...)``; the value otherwise."""
    if (
        isinstance(value, ast.Call)
        and getattr(value.func, "attr", getattr(value.func, "id", "")) == "field"
    ):
        return next((k.value for k in value.keywords if k.arg == "default"), None)
    return value


def _check_class(collector: Collector, node: ast.ClassDef, family: set[str]) -> None:
    if _base_names(node) & (_ENUM_BASES | _DECLARATION_BASES):
        return
    usage = collector.usage
    is_dataclass, _frozen = _dataclass_options(node)
    shadowed = usage.instance_attributes.get(node.name, set())
    for statement, name, raw in module_bindings(node.body):
        if _is_dunder(name):
            continue
        qualified = collector.qualified(node.name, name)
        value = _class_value(raw)
        if _special(collector, statement, value, qualified, "class"):
            continue
        kind = classify(value, collector.aliases, collector.immutable_classes)
        if kind not in ("container", "instance"):
            continue
        field = is_dataclass and isinstance(statement, ast.AnnAssign)
        if field:
            collector.add(
                statement,
                "class-mutable",
                "warning",
                f"dataclass field {node.name}.{name} defaults to one object created at class "
                "definition: every instance shares it (use field(default_factory=...))",
                qualified,
                (name, node.name),
            )
            continue
        if name in shadowed:
            continue
        mutated = min(
            (
                usage.class_mutated[(cls, name)]
                for cls in family
                if (cls, name) in usage.class_mutated
            ),
            default=None,
        )
        collector.add(
            statement,
            "class-mutable",
            "warning" if mutated is not None else "note",
            (
                f"class-level {name} of {node.name} is changed at line {mutated} through the "
                "class or an instance: one object for every instance (and user)"
                if mutated is not None
                else f"class-level {name} of {node.name} is mutable and shared by every instance"
            ),
            qualified,
            (name, node.name),
        )


def _check_runtime_class_attributes(collector: Collector, classes: dict[str, ast.ClassDef]) -> None:
    for (cls, name), line in sorted(collector.usage.class_written.items(), key=lambda kv: kv[1]):
        if cls not in classes or _is_dunder(name):
            continue
        collector.add(
            line,
            "class-runtime-attr",
            "warning",
            f"{cls}.{name} is assigned at run time: a class attribute is one value for the "
            "whole process, so the last request's value is what every user sees",
            collector.qualified(cls, name),
            (name, cls),
        )


def scan_module(
    source: ModuleSource,
    immutable_classes: Collection[str],
    allowlist: Allowlist | None = None,
) -> list[AuditItem]:
    """Every item of one parsed module, inline and allowlist suppressions applied."""
    tree = source.tree
    aliases = import_aliases(tree)
    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
    names = {name for _statement, name, _value in module_bindings(tree.body)}
    names |= {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }
    usage = scan_usage(tree, names, set(classes))
    collector = Collector(source, aliases, usage, immutable_classes, allowlist)
    factories = closure_factories(tree)
    _check_module_level(collector, factories)
    family = _subclasses(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            _check_class(collector, node, family.get(node.name, {node.name}))
    _check_runtime_class_attributes(collector, classes)
    check_functions(collector, factories)
    collector.bare_suppressions()
    return collector.items
