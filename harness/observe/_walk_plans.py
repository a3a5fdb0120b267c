"""How the walker treats each type, decided once per type and cached.

A :class:`TypePlan` says whether objects of a type are skipped (scalars, functions, types,
modules, weak references, opaque infrastructure), scanned (strings) or walked, and when walked:
which container protocol to read, whether they have a ``__dict__``, which ``__slots__`` (over
the MRO), which extra attributes (exception args, partial arguments), which classes' class-level
attributes may hold state, and whether the object counts as mutable for shared-state checks.
"""

from __future__ import annotations

import array
import asyncio
import collections
import concurrent.futures
import contextvars
import dataclasses
import datetime
import decimal
import enum
import fractions
import functools
import gc
import io
import logging
import os
import pathlib
import re
import selectors
import site
import socket
import sys
import sysconfig
import threading
import types
import uuid
import weakref
from typing import Any

__all__ = [
    "CONTAINER_BUFFER",
    "CONTAINER_CACHE",
    "CONTAINER_THREAD_LOCAL",
    "CONTAINER_CONTEXT",
    "CONTAINER_FUNCTION",
    "CONTAINER_MAPPING",
    "CONTAINER_METHOD",
    "CONTAINER_NONE",
    "CONTAINER_PROXY",
    "CONTAINER_SEQUENCE",
    "CONTAINER_SET",
    "SCAN",
    "SKIP",
    "SWEEP_APART",
    "SWEEP_DICT",
    "SWEEP_MAPPING",
    "SWEEP_NONE",
    "SWEEP_REFERENTS",
    "SWEEP_WALK",
    "MAX_BUFFER_BYTES",
    "TypePlan",
    "buffer_text",
    "cached_results",
    "thread_local_attributes",
    "class_attribute_names",
    "class_values",
    "display_name",
    "function_state",
    "plan_for",
]

CONTAINER_NONE = 0
CONTAINER_MAPPING = 1  # dict and subclasses: keys and values
CONTAINER_SEQUENCE = 2  # list, tuple, deque
CONTAINER_SET = 3  # set, frozenset
CONTAINER_PROXY = 4  # types.MappingProxyType: the wrapped mapping
CONTAINER_METHOD = 5  # bound methods: __self__
CONTAINER_CONTEXT = 6  # contextvars.Context: values by variable
CONTAINER_FUNCTION = 7  # plain functions met as values: closure cells and default arguments
CONTAINER_BUFFER = 8  # bytes, bytearray, array.array: contents scanned as text, never walked
CONTAINER_CACHE = 9  # functools.lru_cache wrappers: the cached keys and results
CONTAINER_THREAD_LOCAL = 10  # threading.local: the attributes the current thread sees

# How the walker's sweep (``Walker.sweep``, a walk without paths) reads an object of the type.
SWEEP_NONE = 0  # nothing to read inside (an unhashable C object)
SWEEP_REFERENTS = 1  # what ``gc.get_referents`` gives: attributes, slots, items, keys, values
SWEEP_APART = 2  # read as the walk does: a method's __self__, a function's state, a buffer,
#                  what a read-only mapping view shows (the dict behind it is not shared by it)
SWEEP_WALK = 3  # read only by the walk: the sweep hands over (exceptions, caches, contexts...)
SWEEP_DICT = 4  # the values of its ``__dict__`` (no slots), as the walk reads them
# Keys and values of a dict (and its subclass's attributes): a dict whose keys are all
# strings does not report them to the collector, so ``gc.get_referents`` alone would miss them.
SWEEP_MAPPING = 5
_HAVE_GC = 1 << 14  # Py_TPFLAGS_HAVE_GC: the type's objects tell the collector what they hold

_LRU_WRAPPER = type(functools.lru_cache(maxsize=None)(lambda: None))

#: Bytes of a buffer (bytes, bytearray, array) scanned for tokens; the rest is not read.
MAX_BUFFER_BYTES = 256 * 1024

#: Immutable values: never followed, never reported.
_SCALARS: tuple[type, ...] = (
    type(None),
    bool,
    int,
    float,
    complex,
    range,
    slice,
    decimal.Decimal,
    fractions.Fraction,
    uuid.UUID,
    pathlib.PurePath,
    datetime.date,
    datetime.time,
    datetime.timedelta,
    datetime.tzinfo,
    type(Ellipsis),
    type(NotImplemented),
    enum.Enum,
    re.Pattern,
    re.Match,
    memoryview,  # a view: what it shows belongs to (and is scanned in) its exporter
)

#: Binary buffers: their bytes may carry tokens (an encoded message, a pickled record).
_BUFFERS: tuple[type, ...] = (bytes, bytearray, array.array)

#: Code, types, modules, descriptors and weak references: structure, not state. Plain functions
#: are not here: met as a value (a callback, a memo), one can hold state in its closure cells or
#: default arguments, which the walk follows; functions in a class body are skipped as methods.
_STRUCTURE: tuple[type, ...] = (
    type,
    types.ModuleType,
    types.CodeType,
    types.CellType,
    classmethod,
    staticmethod,
    property,
    types.MemberDescriptorType,
    types.GetSetDescriptorType,
    types.WrapperDescriptorType,
    types.MethodDescriptorType,
    types.ClassMethodDescriptorType,
    weakref.ref,
    weakref.ProxyType,
    weakref.CallableProxyType,
)

#: Infrastructure the walk must not enter: loops, futures, coroutines, frames, locks, logging, I/O.
_OPAQUE: tuple[type, ...] = (
    asyncio.AbstractEventLoop,
    asyncio.Handle,
    asyncio.AbstractServer,
    asyncio.BaseTransport,
    concurrent.futures.Future,
    threading.Thread,
    type(threading.Lock()),
    type(threading.RLock()),
    types.CoroutineType,
    types.GeneratorType,
    types.AsyncGeneratorType,
    types.FrameType,
    types.TracebackType,
    # Loggers are the process-wide logging tree (every module's, pytest's capture included):
    # infrastructure. Handlers and adapters are walked: an audit handler that keeps formatted
    # lines, a MemoryHandler's buffer of records or an adapter's ``extra`` hold user data.
    logging.Logger,
    logging.Manager,
    logging.PlaceHolder,
    logging.Formatter,
    io.IOBase,
    socket.socket,
    selectors.BaseSelector,
    contextvars.ContextVar,
    contextvars.Token,
)

_METHODS: tuple[type, ...] = (
    types.MethodType,
    types.BuiltinMethodType,
    types.MethodWrapperType,
)


class TypePlan:
    """What the walker does with objects of one type (see the module docstring)."""

    __slots__ = (
        "class_owners",
        "container",
        "descriptor",
        "extras",
        "has_dict",
        "mutable",
        "slots",
        "sweep",
        "type_name",
    )

    def __init__(
        self,
        *,
        type_name: str,
        container: int = CONTAINER_NONE,
        mutable: bool = False,
        has_dict: bool = False,
        slots: tuple[tuple[str, Any], ...] = (),
        extras: tuple[str, ...] = (),
        class_owners: tuple[type, ...] = (),
        descriptor: bool = False,
        traversed: bool = True,
    ) -> None:
        self.type_name = type_name
        self.container = container
        self.mutable = mutable
        self.has_dict = has_dict
        self.slots = slots
        self.extras = extras
        self.class_owners = class_owners
        self.descriptor = descriptor
        self.sweep = _sweep_of(container, has_dict, bool(slots), bool(extras), traversed)

    def __repr__(self) -> str:
        return f"TypePlan({self.type_name}, container={self.container}, mutable={self.mutable})"


def _sweep_of(container: int, has_dict: bool, slots: bool, extras: bool, traversed: bool) -> int:
    if extras or container in (CONTAINER_CONTEXT, CONTAINER_CACHE, CONTAINER_THREAD_LOCAL):
        return SWEEP_WALK
    if container in (CONTAINER_METHOD, CONTAINER_FUNCTION, CONTAINER_BUFFER, CONTAINER_PROXY):
        return SWEEP_APART
    if container == CONTAINER_MAPPING:
        return SWEEP_MAPPING
    if container != CONTAINER_NONE:
        return SWEEP_REFERENTS  # list, tuple, deque, set, frozenset
    if has_dict and not slots:
        return SWEEP_DICT  # attribute values only: names are code, not data, to the walk too
    if not slots:
        return SWEEP_NONE
    # A C type with slots but no collector support reports no referents: walk it.
    return SWEEP_REFERENTS if traversed else SWEEP_WALK


#: Objects of these types are neither walked nor scanned.
SKIP = TypePlan(type_name="<skip>")
#: Strings: scanned for tokens, never walked.
SCAN = TypePlan(type_name="str")

_PLANS: dict[type, TypePlan] = {str: SCAN}
# Class-level attribute names worth reading, per class: (len(vars(cls)) when computed, names).
_CLASS_NAMES: dict[type, tuple[int, tuple[str, ...]]] = {}
#: The class of each mutable plan's ``type_name`` met so far (first class wins on a name
#: clash), so that what a walk reports can name where its class is defined (``_walk_sites``).
CLASSES: dict[str, type] = {}


def plan_for(cls: type) -> TypePlan:
    """The cached plan of ``cls`` (computed on first use)."""
    plan = _PLANS.get(cls)
    if plan is None:
        plan = _PLANS[cls] = _compute(cls)
        if plan.mutable:
            CLASSES.setdefault(plan.type_name, cls)
    return plan


#: Library internals opaque by the module that defines their class, decided once per type:
#: connection pools, engines, dialects, event registries and compiled-statement caches, HTTP
#: transports and connection pools, validators. Objects of a user's own classes built on these
#: libraries (ORM rows, sessions, pydantic model instances, clients) are still walked.
OPAQUE_MODULES: tuple[str, ...] = (
    "sqlalchemy.engine.",
    "sqlalchemy.pool.",
    "sqlalchemy.event.",
    "sqlalchemy.sql.",
    "sqlalchemy.dialects.",
    "sqlalchemy.util.",
    "sqlalchemy.cyextension.",
    "pydantic._internal.",
    "pydantic_core",
    "httpx._transports.",
    "httpx._config",
    "httpcore",
    "h11",
    "anyio",
    "aiohttp.connector",
    "aiohttp.helpers",
    "aiohttp.tracing",
    "redis.connection",
    "redis.retry",
    "redis.backoff",
    "asyncio.events",
    "asyncio.base_events",
    "asyncio.selector_events",
    "asyncio.unix_events",
    "asyncio.transports",
    "logging.config",
)


#: The harness's own records: data a target may keep (a Turn, an Event), walked like any value.
_HARNESS_RECORDS = frozenset({"harness.model"})


def is_harness_machinery(module: object) -> bool:
    """Whether ``module`` (a ``__module__``) is the harness's own code, not one of its records.

    The harness reaches into a target only through what it hands over: the ``on_event``
    callback a session calls, the adapter objects. A target that keeps such a callback (a
    connection registry holding the session) makes the harness's driver, observer and token
    index reachable from a user's roots; walked, they hold every user's tokens, and a walk
    that leaves the declared boundaries would report the harness's own bookkeeping as a leak.
    """
    return (
        type(module) is str
        and (module == "harness" or module.startswith("harness."))
        and module not in _HARNESS_RECORDS
    )


def _is_opaque(cls: type) -> bool:
    module = getattr(cls, "__module__", "")
    return (
        issubclass(cls, _OPAQUE)
        or hasattr(cls, "_asyncio_future_blocking")
        or str(module).startswith(OPAQUE_MODULES)
        or is_harness_machinery(module)
    )


def _compute(cls: type) -> TypePlan:
    if issubclass(cls, str):
        return SCAN
    if issubclass(cls, _SCALARS) or issubclass(cls, _STRUCTURE) or _is_opaque(cls):
        return SKIP
    name = display_name(cls)
    descriptor = hasattr(cls, "__get__")
    if issubclass(cls, _METHODS):
        return TypePlan(type_name=name, container=CONTAINER_METHOD)
    if cls is types.FunctionType:
        # A descriptor like any method: in a class body it is code, skipped with the others.
        return TypePlan(type_name=name, container=CONTAINER_FUNCTION, descriptor=descriptor)
    if cls is _LRU_WRAPPER:
        # A function, not state of its own (so not counted as mutable); its cache is read, and
        # its __dict__ leads to the wrapped function's closure and defaults.
        return TypePlan(
            type_name=name, container=CONTAINER_CACHE, has_dict=True, descriptor=descriptor
        )
    if issubclass(cls, threading.local):
        # The current thread's attributes; a "per-request" thread-local shared by every task on
        # the loop's one thread is shared state like any object.
        return TypePlan(type_name=name, container=CONTAINER_THREAD_LOCAL, mutable=True)
    if issubclass(cls, _BUFFERS):
        # A bytearray or array is shared state like a list; bytes are a value, only scanned.
        return TypePlan(
            type_name=name, container=CONTAINER_BUFFER, mutable=not issubclass(cls, bytes)
        )
    if cls is types.MappingProxyType:
        return TypePlan(type_name=name, container=CONTAINER_PROXY)
    if cls is contextvars.Context:
        return TypePlan(type_name=name, container=CONTAINER_CONTEXT)
    container = CONTAINER_NONE
    mutable = False
    if issubclass(cls, dict):
        container, mutable = CONTAINER_MAPPING, True
    elif issubclass(cls, (list, collections.deque)):
        container, mutable = CONTAINER_SEQUENCE, True
    elif issubclass(cls, tuple):
        container = CONTAINER_SEQUENCE
    elif issubclass(cls, set):
        container, mutable = CONTAINER_SET, True
    elif issubclass(cls, frozenset):
        container = CONTAINER_SET
    elif issubclass(cls, bytearray):
        mutable = True
    extras: tuple[str, ...] = ()
    if issubclass(cls, BaseException):
        extras = ("args", "__cause__", "__context__")
    elif issubclass(cls, functools.partial):
        extras = ("func", "args", "keywords")
    has_dict = cls.__dictoffset__ != 0
    slots = _slots_of(cls)
    frozen = dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
    if (has_dict or slots) and not frozen and not issubclass(cls, functools.partial):
        mutable = True
    if container == CONTAINER_NONE and not (has_dict or slots or extras or mutable):
        if cls.__hash__ is None:
            # An unhashable C object (mmap, a C extension's buffer or table): mutable by the
            # language's convention, so two users holding one is shared state, even though
            # the walk cannot read inside it.
            return TypePlan(type_name=name, mutable=True)
        return SKIP  # an opaque C object: nothing the walk can read
    home = str(getattr(cls, "__module__", "")).partition(".")[0]
    owners = tuple(
        k
        for k in cls.__mro__
        if k is not object
        and k.__module__ != "builtins"
        # An installed library's base class (pydantic's BaseModel, a framework's Model): its
        # class body is library machinery, reported only when a user's value reaches another
        # user through it, which the walk of the user's own objects sees.
        and (k.__module__.partition(".")[0] == home or not is_library_module(k.__module__))
    )
    return TypePlan(
        type_name=name,
        container=container,
        mutable=mutable,
        has_dict=has_dict,
        slots=slots,
        extras=extras,
        class_owners=owners,
        descriptor=descriptor,
        traversed=bool(cls.__flags__ & _HAVE_GC),
    )


def display_name(cls: type) -> str:
    """``cls.__qualname__`` without the ``outer.<locals>.`` prefix of function-local classes."""
    return cls.__qualname__.rsplit("<locals>.", 1)[-1]


def _slots_of(cls: type) -> tuple[tuple[str, Any], ...]:
    """(attribute name, slot reader) for every slot over the MRO, base classes last."""
    found: list[tuple[str, Any]] = []
    names: set[str] = set()
    for klass in cls.__mro__:
        declared = klass.__dict__.get("__slots__", ())
        if isinstance(declared, str):
            declared = (declared,)
        for slot in declared:
            if slot in ("__dict__", "__weakref__"):
                continue
            attribute = slot
            if slot.startswith("__") and not slot.endswith("__"):
                attribute = f"_{klass.__name__.lstrip('_')}{slot}"
            descriptor = klass.__dict__.get(attribute)
            if isinstance(descriptor, types.MemberDescriptorType) and attribute not in names:
                names.add(attribute)
                # The descriptor's __get__, bound once: ``get(obj, None)`` reads the slot
                # (AttributeError when unset) without a lookup per object.
                found.append((attribute, descriptor.__get__))
    return tuple(found)


def class_attribute_names(cls: type) -> tuple[str, ...]:
    """Names in ``vars(cls)`` whose values may hold state: not dunder names, functions,
    descriptors, types or modules. Scalars are kept (``_instance = None`` is often rebound to a
    live object later). Recomputed when the class gains or loses attributes."""
    namespace = cls.__dict__
    cached = _CLASS_NAMES.get(cls)
    if cached is not None and cached[0] == len(namespace):
        return cached[1]
    names = []
    protocol = _library_protocol_names(cls)
    for name, value in namespace.items():
        if not isinstance(name, str) or (name.startswith("__") and name.endswith("__")):
            continue
        kind = type(value)
        if issubclass(kind, _STRUCTURE) or plan_for(kind).descriptor:
            continue  # methods, nested classes, properties: the class's code, not its state
        if name in protocol:
            continue  # a library base's own attribute, set per class (pydantic model_config)
        names.append(name)
    result = tuple(names)
    _CLASS_NAMES[cls] = (len(namespace), result)
    return result


def class_values(cls: type) -> list[tuple[str, object]]:
    """``(name, value)`` of the class-level attributes of ``cls`` a walk reads now: those of
    :func:`class_attribute_names` whose value is neither skipped (``None``, a number) nor a
    descriptor (a function set on the class later)."""
    namespace = cls.__dict__
    found: list[tuple[str, object]] = []
    for name in class_attribute_names(cls):
        value = namespace.get(name)
        plan = plan_for(type(value))
        if plan is not SKIP and not plan.descriptor:
            found.append((name, value))
    return found


def _library_protocol_names(cls: type) -> frozenset[str]:
    """Class attributes a base class from another top-level package defines itself.

    A framework's base class declares its configuration and bookkeeping attributes, and its
    metaclass or ``__init_subclass__`` sets them again on each subclass (pydantic's
    ``model_config``, an ORM's table metadata): library machinery every model class carries,
    not state the user's class keeps. Bases of the class's own package are the user's code
    and stay walked.
    """
    home = str(getattr(cls, "__module__", "")).partition(".")[0]
    names: set[str] = set()
    for base in cls.__mro__[1:]:
        module = str(getattr(base, "__module__", ""))
        if base is object or module.partition(".")[0] == home or not is_library_module(module):
            continue
        names.update(name for name in vars(base) if isinstance(name, str))
    return frozenset(names)


@functools.cache
def _library_roots() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    roots = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths}
    roots.update((*site.getsitepackages(), site.getusersitepackages()))
    return tuple(sorted({os.path.realpath(root) + os.sep for root in roots}))


@functools.cache
def is_library_module(module_name: str) -> bool:
    """Whether a module comes from the standard library or an installed distribution's files.

    A package installed in editable mode (its files in a working tree) is not a library: it is
    somebody's code under test. Modules without a file (built-ins) are libraries.
    """
    top = module_name.partition(".")[0]
    module = sys.modules.get(top)
    origin = getattr(module, "__file__", None)
    if origin is None:
        return module is None or not bool(getattr(module, "__path__", None))
    return os.path.realpath(str(origin)).startswith(_library_roots())


def function_state(function: Any) -> list[tuple[str, object]]:
    """``(label, value)`` for the state a plain function carries: closure cells, then defaults.

    Labels name the variable: ``closure seen``, ``default cache``, ``kwdefault limit``. The
    function's globals and code are not state of one user and are never followed, nor is
    anything held by a function of the harness's own (the callbacks it hands a target).
    """
    if is_harness_machinery(getattr(function, "__module__", None)):
        return []
    code = function.__code__
    state: list[tuple[str, object]] = []
    for name, cell in zip(code.co_freevars, function.__closure__ or (), strict=False):
        try:
            state.append((f"closure {name}", cell.cell_contents))
        except ValueError:  # an empty cell: the variable is not bound yet
            continue
    defaults = function.__defaults__ or ()
    if defaults:
        names = code.co_varnames[code.co_argcount - len(defaults) : code.co_argcount]
        state.extend((f"default {n}", v) for n, v in zip(names, defaults, strict=False))
    for name, value in (function.__kwdefaults__ or {}).items():
        state.append((f"kwdefault {name}", value))
    return state


def buffer_text(buffer: Any) -> str:
    """The first :data:`MAX_BUFFER_BYTES` of a bytes-like object as text, for the token scan.

    Latin-1 maps every byte to one character, so an ASCII token encoded in UTF-8 (or any
    ASCII-compatible encoding) reads back as itself; a unicode ``array`` is read as text.
    """
    if isinstance(buffer, array.array):
        if buffer.typecode in ("u", "w"):
            return buffer[:MAX_BUFFER_BYTES].tounicode()
        buffer = buffer.tobytes()
    return bytes(buffer[:MAX_BUFFER_BYTES]).decode("latin-1")


def cached_results(wrapper: Any) -> dict[Any, Any]:
    """The cache of a ``functools.lru_cache`` wrapper: key -> result, or -> link when bounded.

    The C wrapper keeps its cache out of ``__dict__``; ``gc.get_referents`` is the one way in.
    A bounded cache maps keys to links of its recency list, C objects whose result Python
    cannot read: only its keys are seen.
    """
    attributes = getattr(wrapper, "__dict__", None)
    for referent in gc.get_referents(wrapper):
        if type(referent) is dict and referent is not attributes:
            return referent
    return {}


def thread_local_attributes(local: Any) -> dict[str, Any]:
    """The attributes a ``threading.local`` holds for the current thread (the walk's own)."""
    # dir() lists class attributes too; the per-thread ones are those the class does not have.
    klass = type(local)
    attributes: dict[str, Any] = {}
    for name in sorted(dir(local)):
        if hasattr(klass, name):
            continue
        try:
            attributes[name] = getattr(local, name)
        except Exception:  # a subclass's __getattr__ that raises: nothing readable there
            continue
    return attributes
