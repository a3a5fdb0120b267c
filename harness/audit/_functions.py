"""The function checks: caches, mutable defaults, closures with state, singleton accessors."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping

from harness.audit._collect import Collector
from harness.audit._usage import chain
from harness.audit._values import MUTATORS, classify, dotted

__all__ = ["check_functions", "closure_factories", "looks_per_user"]

Function = ast.FunctionDef | ast.AsyncFunctionDef

#: Parameter-name words that say "this call is about one user or request".
_USER_WORDS = frozenset(
    {
        "request",
        "req",
        "user",
        "uid",
        "username",
        "account",
        "tenant",
        "session",
        "ctx",
        "context",
        "principal",
        "auth",
        "token",
        "email",
        "customer",
        "owner",
        "identity",
        "caller",
        "member",
    }
)
_USER_TYPES = re.compile(r"Request|User|Context|Session|Principal|Tenant|Account|Identity")
_ACCESSOR = re.compile(r"get_\w+|get[A-Z]\w*Instance|getInstance|get_instance|instance")
_FUNCTOOLS_CACHES = frozenset({"functools.lru_cache", "functools.cache"})
_CACHETOOLS = re.compile(r"(cachetools(\.func)?|asyncache|cachetools_async)\.\w+")


def looks_per_user(argument: ast.arg) -> bool:
    """True when a parameter's name or annotation says it carries a user or a request."""
    words = set(argument.arg.lower().strip("_").split("_"))
    if words & _USER_WORDS:
        return True
    annotation = argument.annotation
    return annotation is not None and bool(_USER_TYPES.search(ast.unparse(annotation)))


def _functions(tree: ast.Module) -> Iterator[tuple[Function, ast.ClassDef | None]]:
    """Every function defined at import time (module level, or in a class body at import time)
    with its class (None for module-level functions). A function defined inside another
    function is made per call: its caches and defaults live as long as that call's closure."""

    def visit(
        statements: list[ast.stmt], owner: ast.ClassDef | None
    ) -> Iterator[tuple[Function, ast.ClassDef | None]]:
        for statement in statements:
            if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
                yield statement, owner
            elif isinstance(statement, ast.ClassDef):
                yield from visit(statement.body, statement)
            elif isinstance(statement, ast.If | ast.Try | ast.With):
                for block in ("body", "orelse", "finalbody"):
                    yield from visit(getattr(statement, block, []), owner)
                for handler in getattr(statement, "handlers", []):
                    yield from visit(handler.body, owner)

    yield from visit(tree.body, None)


def _decorator_names(node: Function, collector: Collector) -> list[tuple[ast.expr, str]]:
    found = []
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        found.append((decorator, dotted(target, collector.aliases) or ""))
    return found


def _parameters(node: Function | ast.Lambda, method: bool) -> list[ast.arg]:
    positional = [*node.args.posonlyargs, *node.args.args]
    if method and positional:
        positional = positional[1:]
    return [*positional, *node.args.kwonlyargs]


def _dropped_by_key(
    key: ast.expr, parameters: list[ast.arg], defs: Mapping[str, Function]
) -> list[ast.arg] | None:
    """The function parameters a cachetools key function ignores (None: cannot tell)."""
    if isinstance(key, ast.Name) and key.id in defs:
        key_function: Function | ast.Lambda = defs[key.id]
    elif isinstance(key, ast.Lambda):
        key_function = key
    else:
        return None
    body = key_function.body if isinstance(key_function.body, list) else [key_function.body]
    used = {
        node.id
        for statement in body
        for node in ast.walk(statement)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }
    arguments = key_function.args
    spread = any(a is not None and a.arg in used for a in (arguments.vararg, arguments.kwarg))
    if spread:
        return []
    key_positional = [*arguments.posonlyargs, *arguments.args]
    if key_positional and key_positional[0].arg in ("self", "cls"):
        key_positional = key_positional[1:]  # a cachedmethod key may take the instance first
    key_names = {a.arg for a in [*key_positional, *arguments.kwonlyargs]}
    dropped = []
    for index, parameter in enumerate(parameters):
        if parameter.arg in key_names:
            kept = parameter.arg in used
        elif index < len(key_positional):
            kept = key_positional[index].arg in used
        else:
            kept = False
        if not kept:
            dropped.append(parameter)
    return dropped


def _check_caches(
    collector: Collector, node: Function, owner: ast.ClassDef | None, defs: Mapping[str, Function]
) -> None:
    decorators = _decorator_names(node, collector)
    names = {name for _decorator, name in decorators}
    method = owner is not None and "staticmethod" not in names
    parameters = _parameters(node, method)
    per_user = [p.arg for p in parameters if looks_per_user(p)]
    where = f"{owner.name}.{node.name}" if owner else node.name
    qualified = collector.qualified(*([owner.name] if owner else []), node.name)
    match = (node.name, *([owner.name] if owner else []))
    for decorator, name in decorators:
        if name == "functools.cached_property":
            collector.add(
                decorator,
                "cache",
                "note",
                f"cached_property {where} keeps its first value on the instance: shared by "
                "every user only if the instance is",
                qualified,
                match,
            )
        elif name in _FUNCTOOLS_CACHES or _CACHETOOLS.fullmatch(name):
            key = None
            if isinstance(decorator, ast.Call):
                key = next((k.value for k in decorator.keywords if k.arg == "key"), None)
            dropped = _dropped_by_key(key, parameters, defs) if key is not None else None
            if dropped:
                lost = [p.arg for p in dropped]
                collector.add(
                    decorator,
                    "cache-key",
                    "error" if any(looks_per_user(p) for p in dropped) else "warning",
                    f"the cache key of {where} ignores {', '.join(lost)}: calls that differ "
                    "only there get one shared result",
                    qualified,
                    match,
                )
            elif name.endswith(".cachedmethod"):
                collector.add(
                    decorator,
                    "cache",
                    "note",
                    f"cachedmethod on {where} uses the cache its getter returns: per instance "
                    "when the getter reads self, shared when it returns a class or module cache",
                    qualified,
                    match,
                )
            elif per_user:
                collector.add(
                    decorator,
                    "cache",
                    "error",
                    f"{name.rpartition('.')[2]} on {where} caches per "
                    f"{', '.join(per_user)} in one process-wide table: one user's result "
                    "stays reachable (and servable) after their request",
                    qualified,
                    match,
                )
            elif method:
                collector.add(
                    decorator,
                    "cache",
                    "warning",
                    f"{name.rpartition('.')[2]} on method {where}: one process-wide table "
                    "keyed by self keeps every instance (and its user data) alive",
                    qualified,
                    match,
                )
            else:
                collector.add(
                    decorator,
                    "cache",
                    "note",
                    f"{name.rpartition('.')[2]} on {where}: results are shared process-wide; "
                    "safe only if they never depend on who is asking",
                    qualified,
                    match,
                )


def _mutated_names(body: list[ast.stmt] | list[ast.expr]) -> Iterator[tuple[str, int]]:
    """Names whose object the statements change (stores through them, mutating calls)."""
    for statement in body:
        for node in ast.walk(statement):
            if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Delete):
                targets = (
                    node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
                )
                for target in targets:
                    if isinstance(target, ast.Attribute | ast.Subscript):
                        root, _segments = chain(target.value)
                        if isinstance(root, ast.Name):
                            yield root.id, node.lineno
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in MUTATORS
            ):
                root, _segments = chain(node.func.value)
                if isinstance(root, ast.Name):
                    yield root.id, node.lineno


def _check_defaults(collector: Collector, node: Function, owner: ast.ClassDef | None) -> None:
    arguments = node.args
    positional = [*arguments.posonlyargs, *arguments.args]
    pairs = list(
        zip(
            positional[len(positional) - len(arguments.defaults) :], arguments.defaults, strict=True
        )
    )
    pairs += [
        (a, d)
        for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True)
        if d is not None
    ]
    mutated = dict(_mutated_names(node.body))
    where = f"{owner.name}.{node.name}" if owner else node.name
    for argument, default in pairs:
        kind = classify(default, collector.aliases, collector.immutable_classes)
        if kind not in ("container", "instance"):
            continue
        line = mutated.get(argument.arg)
        collector.add(
            default,
            "mutable-default",
            "warning" if line is not None else "note",
            (
                f"default of {argument.arg} in {where} is one object made at definition and "
                f"changed at line {line}: every call shares it"
                if line is not None
                else f"default of {argument.arg} in {where} is one mutable object shared by "
                "every call (use None and make one per call)"
            ),
            collector.qualified(*([owner.name] if owner else []), node.name),
            (argument.arg, node.name),
        )


def _returned_closures(function: Function) -> Iterator[Function | ast.Lambda]:
    """The nested functions (and lambdas) ``function`` returns: closures that escape it."""
    nested = {
        node.name: node
        for node in ast.walk(function)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node is not function
    }
    for node in ast.walk(function):
        if isinstance(node, ast.Return) and node.value is not None:
            if isinstance(node.value, ast.Lambda):
                yield node.value
            elif isinstance(node.value, ast.Name) and node.value.id in nested:
                yield nested[node.value.id]


def closure_factories(tree: ast.Module) -> dict[str, tuple[ast.AST, str]]:
    """Module-level functions that return a closure over their own mutable state (the closure
    escapes, so whoever keeps it shares that state): name -> (the closure, the captured name)."""
    factories: dict[str, tuple[ast.AST, str]] = {}
    for function in tree.body:
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        own = {a.arg for a in ast.walk(function.args) if isinstance(a, ast.arg)}
        for statement in function.body:
            for node in ast.walk(statement):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    own.add(node.id)
        for inner in _returned_closures(function):
            inner_body = inner.body if isinstance(inner.body, list) else [inner.body]
            inner_own = {a.arg for a in ast.walk(inner.args) if isinstance(a, ast.arg)}
            nonlocal_names = {
                name
                for statement in inner_body
                for node in ast.walk(statement)
                if isinstance(node, ast.Nonlocal)
                for name in node.names
            }
            captured = [
                name
                for name, _line in _mutated_names(inner_body)
                if name in own and name not in inner_own
            ] + sorted(nonlocal_names & own)
            if captured:
                factories.setdefault(function.name, (inner, captured[0]))
    return factories


def _check_accessor(collector: Collector, node: Function, owner: ast.ClassDef | None) -> None:
    if not _ACCESSOR.fullmatch(node.name):
        return
    shared = {item.name: item for item in collector.items if item.kind != "mutable-default"}
    for sub in ast.walk(node):
        if not isinstance(sub, ast.Return) or sub.value is None:
            continue
        root, segments = chain(sub.value)
        if not isinstance(root, ast.Name):
            continue
        if not segments:
            target = collector.qualified(root.id)
        elif owner is not None and len(segments) == 1 and root.id in ("cls", owner.name):
            target = collector.qualified(owner.name, segments[0])
        else:
            continue
        found = shared.get(target)
        if found is not None and found.suppressed is None:
            where = f"{owner.name}.{node.name}" if owner else node.name
            collector.add(
                node,
                "accessor",
                "note" if found.severity == "note" else "warning",
                f"{where}() returns the process-wide {target.rpartition('.')[2]} "
                f"({found.location}): every caller shares one instance",
                collector.qualified(*([owner.name] if owner else []), node.name),
                (node.name, *found.match_names),
            )
            return


def check_functions(collector: Collector, factories: Mapping[str, tuple[ast.AST, str]]) -> None:
    """Run the function checks over every function of the collector's module."""
    tree = collector.source.tree
    defs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    for node, owner in _functions(tree):
        _check_caches(collector, node, owner, defs)
        _check_defaults(collector, node, owner)
        _check_accessor(collector, node, owner)
    import_time = {item.match_names[1] for item in collector.items if item.kind == "closure-state"}
    for name, (inner, captured) in sorted(factories.items()):
        if name in import_time:
            continue  # already reported where the one closure is made
        collector.add(
            inner,
            "closure-state",
            "note",
            f"the closure {name}() returns keeps {captured} between calls: whoever holds one "
            "closure shares that state (keep each closure per request)",
            collector.qualified(name),
            (name, captured),
        )
