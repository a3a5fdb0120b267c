"""What a value expression is, judged from the source alone: immutable, a container, an instance.

Names are resolved through the module's imports (``from functools import lru_cache as lc`` makes
``lc`` mean ``functools.lru_cache``), so the audit recognises a callee however it was imported.
Nothing is imported or executed.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Mapping

__all__ = [
    "CLIENTS",
    "CONTAINERS",
    "IMMUTABLE_CALLS",
    "MUTATORS",
    "Aliases",
    "callee",
    "classify",
    "dotted",
    "import_aliases",
]

#: local name -> what it stands for, dotted (``"functools.lru_cache"``, ``"np"`` -> ``"numpy"``).
Aliases = Mapping[str, str]

#: Calls that build a mutable container.
CONTAINERS = frozenset(
    {
        "dict",
        "list",
        "set",
        "bytearray",
        "collections.defaultdict",
        "collections.OrderedDict",
        "collections.deque",
        "collections.Counter",
        "collections.ChainMap",
        "array.array",
        "weakref.WeakValueDictionary",
        "weakref.WeakKeyDictionary",
        "weakref.WeakSet",
        "types.SimpleNamespace",
        "queue.Queue",
        "queue.SimpleQueue",
        "queue.LifoQueue",
        "queue.PriorityQueue",
        "asyncio.Queue",
        "asyncio.PriorityQueue",
        "asyncio.LifoQueue",
        "cachetools.Cache",
        "cachetools.LRUCache",
        "cachetools.TTLCache",
        "cachetools.LFUCache",
        "cachetools.FIFOCache",
        "cachetools.RRCache",
        "cachetools.TLRUCache",
    }
)

#: Calls whose result is immutable (or is a process-wide service that holds no user data).
IMMUTABLE_CALLS = frozenset(
    {
        "tuple",
        "frozenset",
        "str",
        "bytes",
        "int",
        "float",
        "complex",
        "bool",
        "range",
        "object",
        "len",
        "sorted",
        "property",
        "staticmethod",
        "classmethod",
        "types.MappingProxyType",
        "re.compile",
        "logging.getLogger",
        "logging.LoggerAdapter",
        "collections.namedtuple",
        "typing.NamedTuple",
        "typing.TypeVar",
        "typing.ParamSpec",
        "typing.NewType",
        "typing.TypedDict",
        "typing.cast",
        "typing.TypeAliasType",
        "typing.Literal",
        "dataclasses.field",
        "enum.Enum",
        "enum.IntEnum",
        "enum.StrEnum",
        "enum.auto",
        "decimal.Decimal",
        "fractions.Fraction",
        "uuid.UUID",
        "pathlib.Path",
        "pathlib.PurePath",
        "pathlib.PurePosixPath",
        "datetime.datetime",
        "datetime.date",
        "datetime.time",
        "datetime.timedelta",
        "datetime.timezone",
        "struct.Struct",
        "operator.attrgetter",
        "operator.itemgetter",
        "string.Template",
        "ipaddress.ip_address",
        "ipaddress.ip_network",
        "contextvars.ContextVar",
        # Synchronisation primitives are shared on purpose and hold no user data.
        "threading.Lock",
        "threading.RLock",
        "threading.Event",
        "threading.Condition",
        "threading.Semaphore",
        "threading.BoundedSemaphore",
        "asyncio.Lock",
        "asyncio.Event",
        "asyncio.Condition",
        "asyncio.Semaphore",
        "asyncio.BoundedSemaphore",
    }
)

#: Long-lived HTTP clients that keep a cookie jar.
CLIENTS = frozenset(
    {
        "aiohttp.ClientSession",
        "httpx.Client",
        "httpx.AsyncClient",
        "requests.Session",
        "requests.session",
        "requests.sessions.Session",
    }
)

#: Method names that change the object they are called on.
MUTATORS = frozenset(
    {
        "append",
        "appendleft",
        "extend",
        "extendleft",
        "insert",
        "pop",
        "popleft",
        "popitem",
        "remove",
        "clear",
        "update",
        "setdefault",
        "add",
        "discard",
        "sort",
        "reverse",
        "rotate",
        "move_to_end",
        "difference_update",
        "intersection_update",
        "symmetric_difference_update",
        "put",
        "put_nowait",
        "frombytes",
        "fromlist",
        "register",
        "subscribe",
        "__setitem__",
        "__delitem__",
    }
)

# Simple names of the containers, for callees imported in ways the alias map cannot follow.
_CONTAINER_NAMES = frozenset(name.rpartition(".")[2] for name in CONTAINERS) - {"Cache"}


def import_aliases(tree: ast.Module) -> dict[str, str]:
    """Every name the module's imports bind (at any depth), mapped to its dotted origin."""
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name
                else:
                    head = alias.name.split(".")[0]
                    aliases[head] = head
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return aliases


def dotted(node: ast.expr, aliases: Aliases) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, with the head resolved through the imports."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(aliases.get(node.id, node.id))
    return ".".join(reversed(parts))


def _normal(name: str) -> str:
    # `typing_extensions.X` and `typing.X` are one thing; so are `sqlalchemy.orm.scoping.X`...
    return name.replace("typing_extensions.", "typing.")


def callee(node: ast.Call, aliases: Aliases) -> str:
    """The dotted name of what ``node`` calls (``""`` when it is not a plain name chain)."""
    return _normal(dotted(node.func, aliases) or "")


def classify(node: ast.expr | None, aliases: Aliases, immutable_classes: Collection[str]) -> str:
    """``"immutable"``, ``"container"``, ``"instance"`` or ``"unknown"`` for a value expression.

    Args:
        node: the expression (None for an annotation without a value).
        aliases: the module's imports, from :func:`import_aliases`.
        immutable_classes: simple names of the audited classes whose instances are immutable
            (frozen dataclasses, named tuples, enums).
    """
    if node is None or isinstance(
        node,
        ast.Constant | ast.JoinedStr | ast.Lambda | ast.Name | ast.Attribute | ast.Subscript,
    ):
        return "immutable"
    if isinstance(node, ast.BinOp | ast.UnaryOp | ast.Compare | ast.BoolOp | ast.IfExp):
        return "immutable"
    if isinstance(node, ast.Tuple):
        kinds = {classify(element, aliases, immutable_classes) for element in node.elts}
        return "immutable" if kinds <= {"immutable", "unknown"} else "container"
    if isinstance(node, ast.List | ast.Dict | ast.Set | ast.ListComp | ast.DictComp | ast.SetComp):
        return "container"
    if isinstance(node, ast.Call):
        name = callee(node, aliases)
        short = name.rpartition(".")[2]
        if name in CONTAINERS or short in _CONTAINER_NAMES:
            return "container"
        if name in IMMUTABLE_CALLS or short in immutable_classes:
            return "immutable"
        if short[:1].isupper():
            return "instance"
        return "unknown"
    return "unknown"
