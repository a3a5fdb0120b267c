"""How a module's functions use its module-level and class-level names.

One pass over a module records, for each function body: which module-level names it mutates
(subscript stores, attribute stores, mutating method calls such as ``append``), which it rebinds
through ``global``, which class attributes it mutates through ``self``/``cls``/the class name,
which class attributes it assigns at run time, and which ``ContextVar`` methods it calls. A name
a function binds locally shadows the module's and is not followed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from harness.audit._values import MUTATORS

__all__ = ["ModuleUsage", "chain", "scan_usage"]


class ModuleUsage:
    """What the functions of one module do to its shared names (first line of each).

    A plain class, filled by one pass over the module and then only read.
    """

    def __init__(self) -> None:
        #: module-level name -> line of the first mutation inside a function.
        self.mutated: dict[str, int] = {}
        #: module-level name -> (line, assigned value) of the first rebinding through ``global``.
        self.global_writes: dict[str, tuple[int, ast.expr | None]] = {}
        #: (class, attribute) -> line of the first mutation through self/cls/the class.
        self.class_mutated: dict[tuple[str, str], int] = {}
        #: (class, attribute) -> line of the first ``cls.x = ...`` / ``Type.x = ...``.
        self.class_written: dict[tuple[str, str], int] = {}
        #: class -> attributes ``__init__``/``__post_init__`` assign on ``self``.
        self.instance_attributes: dict[str, set[str]] = {}
        #: name -> method names called on it anywhere (``{"set", "reset"}`` for a ContextVar).
        self.calls: dict[str, set[str]] = {}
        #: names loaded inside ``async def`` bodies.
        self.async_loads: set[str] = set()
        #: (module-level name, method) -> line of the first call of ``name.method(...)`` in a
        #: function.
        self.method_calls: dict[tuple[str, str], int] = {}
        #: class -> its methods (``__init__`` aside) that change ``self``.
        self.mutating_methods: dict[str, set[str]] = {}


def chain(node: ast.expr) -> tuple[ast.expr, list[str]]:
    """The root of an attribute/subscript chain and the attribute names on the way out.

    ``self.a[k].b`` gives ``(Name self, ["a", "[]", "b"])``.
    """
    segments: list[str] = []
    while isinstance(node, ast.Attribute | ast.Subscript):
        segments.append(node.attr if isinstance(node, ast.Attribute) else "[]")
        node = node.value
    segments.reverse()
    return node, segments


def _own_nodes(body: list[ast.stmt] | list[ast.expr]) -> Iterator[ast.AST]:
    """The nodes of a function body, without descending into nested scopes (their names are
    yielded as the def/class statements themselves)."""
    stack: list[ast.AST] = list(reversed(body))
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        stack.extend(reversed(list(ast.iter_child_nodes(node))))


def _locals(
    function: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda,
) -> tuple[set[str], set[str]]:
    """(names local to ``function``, names it declares ``global``)."""
    declared: set[str] = set()
    global_names: set[str] = set()
    bound = {arg.arg for arg in ast.walk(function.args) if isinstance(arg, ast.arg)}
    body = function.body if isinstance(function.body, list) else [function.body]
    for node in _own_nodes(body):
        if isinstance(node, ast.Global | ast.Nonlocal):
            declared.update(node.names)
            if isinstance(node, ast.Global):
                global_names.update(node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            bound.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
    return bound - declared, global_names


def _is_classmethod(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    decorated = any(
        isinstance(decorator, ast.Name) and decorator.id == "classmethod"
        for decorator in node.decorator_list
    )
    return decorated or node.name in ("__new__", "__init_subclass__", "__class_getitem__")


class _Visitor(ast.NodeVisitor):
    def __init__(self, module_names: set[str], class_names: set[str]) -> None:
        self.usage = ModuleUsage()
        self.module_names = module_names
        self.class_names = class_names
        self.local_stack: list[set[str]] = []
        self.global_stack: list[set[str]] = []
        # (class name, first parameter name, is-classmethod) of the method being visited.
        self.method_stack: list[tuple[str, str, bool] | None] = []
        self.class_stack: list[str] = []
        #: names of the functions being visited, innermost last ("" for a lambda).
        self.function_names: list[str] = []
        self.async_depth = 0

    # ------------------------------------------------------------------ scopes
    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.class_stack.append(node.name)
        self.generic_visit(node)
        self.class_stack.pop()

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        local, global_names = _locals(node)
        owner: tuple[str, str, bool] | None = None
        in_class_body = bool(self.class_stack) and (
            not self.method_stack or self.method_stack[-1] is None
        )
        positional = [*node.args.posonlyargs, *node.args.args]
        if in_class_body and positional and not isinstance(node, ast.Lambda):
            owner = (self.class_stack[-1], positional[0].arg, _is_classmethod(node))
            if node.name in ("__init__", "__post_init__"):
                self._record_instance_attributes(node, owner)
        elif self.method_stack and self.method_stack[-1] is not None:
            owner = self.method_stack[-1]  # a closure inside a method still sees self
            if owner[1] in local and owner[1] not in {a.arg for a in positional}:
                owner = None
        self.local_stack.append(local)
        self.global_stack.append(global_names)
        self.method_stack.append(owner)
        self.function_names.append("" if isinstance(node, ast.Lambda) else node.name)
        saved_classes = self.class_stack
        self.class_stack = []
        is_async = isinstance(node, ast.AsyncFunctionDef)
        self.async_depth += is_async
        if isinstance(node, ast.Lambda):
            self.visit(node.body)
        else:
            for statement in node.body:
                self.visit(statement)
        self.async_depth -= is_async
        self.class_stack = saved_classes
        self.function_names.pop()
        self.method_stack.pop()
        self.global_stack.pop()
        self.local_stack.pop()

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function
    visit_Lambda = _function

    def _record_instance_attributes(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef, owner: tuple[str, str, bool]
    ) -> None:
        names = self.usage.instance_attributes.setdefault(owner[0], set())
        for sub in ast.walk(node):
            if (
                isinstance(sub, ast.Attribute)
                and isinstance(sub.ctx, ast.Store)
                and isinstance(sub.value, ast.Name)
                and sub.value.id == owner[1]
            ):
                names.add(sub.attr)

    # ------------------------------------------------------------------ resolution
    def _in_function(self) -> bool:
        return bool(self.local_stack)

    def _module_name(self, name: str) -> bool:
        if name not in self.module_names:
            return False
        return not any(name in local for local in self.local_stack)

    def _class_ref(self, node: ast.expr) -> str | None:
        """The class ``node`` names: ``cls``, ``type(self)``, ``self.__class__`` or ``Name``."""
        owner = self.method_stack[-1] if self.method_stack else None
        if isinstance(node, ast.Name):
            if owner is not None and node.id == owner[1] and owner[2]:
                return owner[0]
            if node.id in self.class_names and self._module_name(node.id):
                return node.id
        if owner is None:
            return None
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "type"
            and len(node.args) == 1
            and isinstance(node.args[0], ast.Name)
            and node.args[0].id == owner[1]
        ):
            return owner[0]
        if (
            isinstance(node, ast.Attribute)
            and node.attr == "__class__"
            and isinstance(node.value, ast.Name)
            and node.value.id == owner[1]
        ):
            return owner[0]
        return None

    def _mutates(self, obj: ast.expr, line: int) -> None:
        """``obj`` (the thing stored into or called a mutator on) changes."""
        root, segments = chain(obj)
        self._self_changes(root)
        if (
            isinstance(root, ast.Name)
            and self._module_name(root.id)
            and root.id not in self.class_names
        ):
            self.usage.mutated.setdefault(root.id, line)
            return
        owner = self.method_stack[-1] if self.method_stack else None
        cls = self._class_ref(root)
        if cls is None and owner is not None and isinstance(root, ast.Name) and root.id == owner[1]:
            cls = owner[0]
        if cls is not None and segments and segments[0] != "[]":
            self.usage.class_mutated.setdefault((cls, segments[0]), line)

    # ------------------------------------------------------------------ statements
    def _self_changes(self, root: ast.expr) -> None:
        """Note the method being visited as one that changes ``self`` (``__init__`` aside)."""
        owner = self.method_stack[-1] if self.method_stack else None
        if (
            owner is not None
            and not owner[2]
            and isinstance(root, ast.Name)
            and root.id == owner[1]
            and self.function_names
            and self.function_names[-1] not in ("__init__", "__post_init__", "__new__")
        ):
            methods = self.usage.mutating_methods.setdefault(owner[0], set())
            methods.add(self.function_names[-1])

    def _store(self, target: ast.expr, line: int, value: ast.expr | None) -> None:
        if isinstance(target, ast.Tuple | ast.List):
            for element in target.elts:
                self._store(element, line, None)
            return
        if isinstance(target, ast.Starred):
            self._store(target.value, line, None)
            return
        if isinstance(target, ast.Name):
            if self.global_stack and target.id in self.global_stack[-1]:
                self.usage.global_writes.setdefault(target.id, (line, value))
            return
        if isinstance(target, ast.Attribute):
            cls = self._class_ref(target.value)
            if cls is not None and self._in_function():
                self.usage.class_written.setdefault((cls, target.attr), line)
                return
        if isinstance(target, ast.Attribute | ast.Subscript) and self._in_function():
            if isinstance(target, ast.Attribute):
                self._self_changes(target.value)
            self._mutates(target.value, line)

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._store(target, node.lineno, node.value)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._store(node.target, node.lineno, node.value)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._store(node.target, node.lineno, node.value)
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            if isinstance(target, ast.Attribute | ast.Subscript) and self._in_function():
                self._mutates(target.value, node.lineno)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute):
            root, segments = chain(func.value)
            if isinstance(root, ast.Name) and not segments:
                self.usage.calls.setdefault(root.id, set()).add(func.attr)
                if self._in_function() and self._module_name(root.id):
                    self.usage.method_calls.setdefault((root.id, func.attr), node.lineno)
            if func.attr in MUTATORS and self._in_function():
                self._mutates(func.value, node.lineno)
        elif (
            isinstance(func, ast.Name)
            and func.id in ("setattr", "delattr")
            and node.args
            and self._in_function()
        ):
            self._setattr(node)
        self.generic_visit(node)

    def _setattr(self, node: ast.Call) -> None:
        cls = self._class_ref(node.args[0])
        name = node.args[1] if len(node.args) > 1 else None
        if cls is not None and isinstance(name, ast.Constant) and isinstance(name.value, str):
            self.usage.class_written.setdefault((cls, name.value), node.lineno)
        else:
            self._mutates(node.args[0], node.lineno)

    def visit_Name(self, node: ast.Name) -> None:
        if self.async_depth and isinstance(node.ctx, ast.Load):
            self.usage.async_loads.add(node.id)


def scan_usage(tree: ast.Module, module_names: set[str], class_names: set[str]) -> ModuleUsage:
    """Index how ``tree``'s functions use its module-level names and classes."""
    visitor = _Visitor(module_names, class_names)
    visitor.visit(tree)
    return visitor.usage
