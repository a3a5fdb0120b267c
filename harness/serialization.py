"""Records to JSON data and back, canonical JSON bytes and the trace digest.

:func:`to_data` turns any record of :mod:`harness.model` into plain JSON data (dicts with string
keys, lists, strings, numbers, booleans and ``None``); :func:`from_data` rebuilds the record from
that data, guided by the dataclass fields and their type hints, so tuples come back as tuples and
frozensets as frozensets. Plan steps use the wire format of DESIGN.md section 4::

    {"step": "think", "text": T}
    {"step": "tool", "name": N, "params": {...}}
    {"step": "pause", "seconds": S}
    {"step": "fail", "reason": R}

:func:`canonical_json` gives the one byte string a piece of data has (sorted keys, compact
separators, UTF-8, floats as Python's ``repr``), and :func:`digest` the SHA-256 of a trace's
canonical JSON: the same (scenario, seed, strategy) gives the same digest.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import json
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from harness.errors import HarnessError
from harness.model import CallTool, Fail, Pause, Step, Think, Trace

__all__ = [
    "RecordDataError",
    "canonical_json",
    "digest",
    "from_data",
    "step_from_data",
    "step_to_data",
    "to_data",
]

T = TypeVar("T")

#: Wire name of each plan step class, and back.
_STEP_NAMES: dict[type, str] = {Think: "think", CallTool: "tool", Pause: "pause", Fail: "fail"}
_STEP_CLASSES: dict[str, type] = {name: cls for cls, name in _STEP_NAMES.items()}


class RecordDataError(HarnessError):
    """Data that cannot become the record it was meant to be, or a value with no JSON form.

    Causes: a missing field, a value of the wrong type, an unknown plan step, a payload holding a
    live object. ``path`` names the place (``Trace.turns[2].outcome.status``).
    Fix: the message names the path, the value found and what was expected there.
    """

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.detail = message


# --------------------------------------------------------------------------- to data


def step_to_data(step: Step) -> dict[str, Any]:
    """Return the wire form of one plan step, e.g. ``{"step": "think", "text": "..."}``."""
    if isinstance(step, Think):
        return {"step": "think", "text": step.text}
    if isinstance(step, CallTool):
        return {"step": "tool", "name": step.name, "params": to_data(step.params)}
    if isinstance(step, Pause):
        return {"step": "pause", "seconds": step.seconds}
    if isinstance(step, Fail):
        return {"step": "fail", "reason": step.reason}
    raise RecordDataError("step", f"step={step!r} is not a Think, CallTool, Pause or Fail.")


def to_data(record: object, *, _path: str = "$") -> Any:
    """Return ``record`` as JSON-compatible data.

    Dataclasses become dicts of their fields (plan steps their wire form), tuples and lists
    become lists, mappings dicts with string keys, sets sorted lists.

    Raises:
        RecordDataError: a value has no JSON form (a live object in a payload, say).

    Example:
        >>> to_data(Think(text="hello"))
        {'step': 'think', 'text': 'hello'}
    """
    with _no_collection():
        try:
            return _fast(record)
        except _NoJSONForm:
            # Only a failure pays for paths: walk again, naming where the value sits.
            return _with_paths(record, _path)


@contextlib.contextmanager
def _no_collection() -> Iterator[None]:
    """No cyclic garbage collection while plain data is built or encoded.

    The data of a trace is hundreds of thousands of fresh dicts and lists without a cycle:
    the collections their allocation triggers (a full one among them, as they all survive to
    the oldest generation) find nothing and cost as much as building them. Reference counting
    frees them as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class _NoJSONForm(Exception):
    pass


#: Field names per dataclass type: ``dataclasses.fields`` is too slow to call per record.
_FIELDS: dict[type, tuple[str, ...]] = {}


def _fields(kind: type) -> tuple[str, ...]:
    names = _FIELDS.get(kind)
    if names is None:
        names = _FIELDS[kind] = tuple(f.name for f in dataclasses.fields(kind))
    return names


_SCALARS = frozenset({str, int, float, bool, type(None)})
#: An encoder per exact type met (dataclasses, dict, list, tuple, set, frozenset): a trace has a
#: handful of types and hundreds of thousands of values, so the isinstance chain of
#: :func:`_generic` runs once per type, not once per value.
_ENCODERS: dict[type, Callable[[Any], Any]] = {}


def _fast(record: object) -> Any:
    kind = type(record)
    if kind in _SCALARS:
        return record
    encoder = _ENCODERS.get(kind)
    if encoder is None:
        encoder = _encoder_for(kind)
        if encoder is None:
            return _generic(record)
    return encoder(record)


def _encode_dict(record: dict[Any, Any]) -> dict[str, Any]:
    scalars = _SCALARS
    return {
        key if type(key) is str else _text_key(key): (
            value if type(value) in scalars else _fast(value)
        )
        for key, value in record.items()
    }


def _encode_sequence(record: list[Any] | tuple[Any, ...]) -> list[Any]:
    scalars = _SCALARS
    return [item if type(item) in scalars else _fast(item) for item in record]


def _encode_set(record: set[Any] | frozenset[Any]) -> list[Any]:
    return sorted((_fast(item) for item in record), key=canonical_json)


def _text_key(key: object) -> str:
    return key if isinstance(key, str) else _plain_key(key)


def _encoder_for(kind: type) -> Callable[[Any], Any] | None:
    """The encoder of one exact type, built once; None for types :func:`_generic` handles."""
    encoder: Callable[[Any], Any] | None = None
    if kind in _STEP_NAMES:
        encoder = step_to_data
    elif dataclasses.is_dataclass(kind):
        names = _fields(kind)
        # One generated function per record type: a dict display of its fields, scalars kept
        # as they are, anything else through _fast. The output is the dict comprehension's.
        items = ", ".join(
            f"{name!r}: (v if type(v := r.{name}) in scalars else fast(v))" for name in names
        )
        namespace: dict[str, Any] = {}
        exec(  # the field names are identifiers: nothing else enters the source
            f"def encode(r):\n    return {{{items}}}\n",
            {"scalars": _SCALARS, "fast": _fast},
            namespace,
        )
        generated = namespace["encode"]
        encoder = generated
    elif kind is dict:
        encoder = _encode_dict
    elif kind is list or kind is tuple:
        encoder = _encode_sequence
    elif kind is set or kind is frozenset:
        encoder = _encode_set
    if encoder is not None:
        _ENCODERS[kind] = encoder
    return encoder


def _generic(record: object) -> Any:
    if record is None or isinstance(record, str | bool | int | float):
        return record
    kind = type(record)
    if kind in _STEP_NAMES:
        return step_to_data(record)  # type: ignore[arg-type]
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        return {name: _fast(getattr(record, name)) for name in _fields(kind)}
    if isinstance(record, Mapping):
        return {
            key if isinstance(key, str) else _plain_key(key): _fast(value)
            for key, value in record.items()
        }
    if isinstance(record, tuple | list):
        return [_fast(item) for item in record]
    if isinstance(record, frozenset | set):
        return sorted((_fast(item) for item in record), key=canonical_json)
    raise _NoJSONForm


def _plain_key(key: object) -> str:
    if isinstance(key, int | float | bool) or key is None:
        return json.dumps(key)
    raise _NoJSONForm


def _with_paths(record: object, _path: str) -> Any:
    if record is None or isinstance(record, str | bool | int | float):
        return record
    if type(record) in _STEP_NAMES:
        return step_to_data(record)  # type: ignore[arg-type]
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        return {
            name: _with_paths(getattr(record, name), f"{_path}.{name}")
            for name in _fields(type(record))
        }
    if isinstance(record, Mapping):
        return {
            _key(key, _path): _with_paths(value, f"{_path}[{key!r}]")
            for key, value in record.items()
        }
    if isinstance(record, tuple | list):
        return [_with_paths(item, f"{_path}[{i}]") for i, item in enumerate(record)]
    if isinstance(record, frozenset | set):
        items = [_with_paths(item, f"{_path}[]") for item in record]
        return sorted(items, key=canonical_json)
    raise RecordDataError(
        _path,
        f"value={record!r} (type {type(record).__name__}) has no JSON form. Records and payloads "
        "hold plain data only: str, int, float, bool, None, lists, tuples, mappings, sets.",
    )


def _key(key: object, path: str) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, int | float | bool) or key is None:
        return json.dumps(key)
    raise RecordDataError(
        path, f"mapping key={key!r} (type {type(key).__name__}) is not a string or a number."
    )


def canonical_json(obj: object) -> bytes:
    """Return the canonical JSON bytes of ``obj`` (a record or JSON data).

    Keys sorted, no spaces, non-ASCII kept as UTF-8, floats as Python's ``repr``.

    Example:
        >>> canonical_json({"b": 1, "a": [1.5, "é"]})
        b'{"a":[1.5,"\\xc3\\xa9"],"b":1}'
    """
    return _canonical_bytes(obj if _is_plain(obj) else to_data(obj))


def _canonical_bytes(data: Any) -> bytes:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    # Lone surrogates cannot be UTF-8; keep them byte-stable instead of failing the digest.
    return text.encode("utf-8", "surrogatepass")


def _is_plain(obj: object) -> bool:
    if obj is None or isinstance(obj, str | bool | int | float):
        return True
    if isinstance(obj, list):
        return all(_is_plain(item) for item in obj)
    if isinstance(obj, dict):
        return all(isinstance(k, str) and _is_plain(v) for k, v in obj.items())
    return False


def digest(trace: Trace) -> str:
    """Return the SHA-256 hex digest (64 characters) of the trace's canonical JSON."""
    # to_data returns plain data: no need to check it again, as canonical_json would.
    with _no_collection():
        return hashlib.sha256(_canonical_bytes(to_data(trace))).hexdigest()


# --------------------------------------------------------------------------- from data


def step_from_data(data: object, *, path: str = "step") -> Step:
    """Rebuild a plan step from its wire form.

    Raises:
        RecordDataError: not an object, an unknown ``step`` or a missing field.
    """
    if not isinstance(data, Mapping):
        raise RecordDataError(path, f"value={data!r} is not an object; a step is {{'step': ...}}.")
    name = data.get("step")
    cls = _STEP_CLASSES.get(name) if isinstance(name, str) else None
    if cls is None:
        raise RecordDataError(
            path,
            f"step={name!r} is not a plan step; expected one of {sorted(_STEP_CLASSES)}.",
        )
    fields = {k: v for k, v in data.items() if k != "step"}
    if cls is CallTool and "params" not in fields:
        fields["params"] = {}
    return _build(cls, fields, path)  # type: ignore[no-any-return]


@typing.overload
def from_data(cls: type[T], data: object) -> T: ...
@typing.overload
def from_data(cls: object, data: object) -> Any: ...
def from_data(cls: object, data: object) -> Any:
    """Rebuild a record of type ``cls`` (or the ``Step`` union) from :func:`to_data` output.

    Unknown keys are ignored, so files from a newer harness with added fields still load.

    Raises:
        RecordDataError: a field is missing or has the wrong type; the message names its path.

    Example:
        >>> from_data(Think, {"step": "think", "text": "hi"})
        Think(text='hi')
    """
    name = getattr(cls, "__name__", "Step")
    return _convert(cls, data, name)


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = typing.get_type_hints(cls)
        _HINTS[cls] = hints
    return hints


def _build(cls: type, data: object, path: str) -> Any:
    if cls in _STEP_NAMES and isinstance(data, Mapping) and "step" in data:
        step = step_from_data(data, path=path)
        if type(step) is not cls:
            raise RecordDataError(
                path, f"step={data['step']!r} is not a {cls.__name__} step ({_STEP_NAMES[cls]!r})."
            )
        return step
    if not isinstance(data, Mapping):
        raise RecordDataError(
            path,
            f"value={data!r} (type {type(data).__name__}) is not an object for {cls.__name__}.",
        )
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            if required:
                raise RecordDataError(
                    f"{path}.{f.name}",
                    f"missing; {cls.__name__} needs the field {f.name!r}.",
                )
            continue
        kwargs[f.name] = _convert(hints[f.name], data[f.name], f"{path}.{f.name}")
    return cls(**kwargs)


def _convert(hint: Any, data: object, path: str) -> Any:
    if hint is Any:
        return data
    if hint is type(None) or hint is None:
        if data is not None:
            raise RecordDataError(path, f"value={data!r} should be null.")
        return None
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return _convert_union(args, data, path)
    if origin is typing.Literal:
        if data not in args:
            raise RecordDataError(path, f"value={data!r} is not one of {list(args)}.")
        return data
    if origin is tuple:
        return _convert_tuple(args, data, path)
    if origin in (frozenset, set):
        items = _expect_list(data, path)
        return frozenset(_convert(args[0], item, f"{path}[{i}]") for i, item in enumerate(items))
    if origin in (Mapping, dict):
        return _convert_mapping(args, data, path)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _build(hint, data, path)
    if hint in (str, int, float, bool):
        return _convert_scalar(hint, data, path)
    raise RecordDataError(path, f"type hint {hint!r} is not supported by from_data.")


def _convert_union(args: tuple[Any, ...], data: object, path: str) -> Any:
    options = [arg for arg in args if arg is not type(None)]
    if data is None:
        if len(options) < len(args):
            return None
        raise RecordDataError(path, "value=None is not allowed here.")
    if options and all(arg in _STEP_NAMES for arg in options):
        return step_from_data(data, path=path)
    if len(options) == 1:
        return _convert(options[0], data, path)
    errors = []
    for option in options:
        try:
            return _convert(option, data, path)
        except RecordDataError as exc:
            errors.append(exc.detail)
    raise RecordDataError(path, f"value={data!r} fits none of {options}: {'; '.join(errors)}")


def _convert_tuple(args: tuple[Any, ...], data: object, path: str) -> tuple[Any, ...]:
    items = _expect_list(data, path)
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(_convert(args[0], item, f"{path}[{i}]") for i, item in enumerate(items))
    if not args:
        return tuple(items)
    if len(items) != len(args):
        raise RecordDataError(path, f"expected {len(args)} items, found {len(items)}.")
    return tuple(
        _convert(arg, item, f"{path}[{i}]")
        for i, (arg, item) in enumerate(zip(args, items, strict=True))
    )


def _convert_mapping(args: tuple[Any, ...], data: object, path: str) -> dict[Any, Any]:
    if not isinstance(data, Mapping):
        raise RecordDataError(
            path, f"value={data!r} (type {type(data).__name__}) should be an object."
        )
    key_hint, value_hint = args if args else (Any, Any)
    result: dict[Any, Any] = {}
    for key, value in data.items():
        if key_hint is int and isinstance(key, str):
            try:
                key = int(key)
            except ValueError:
                raise RecordDataError(path, f"key={key!r} should be an integer.") from None
        result[key] = _convert(value_hint, value, f"{path}[{key!r}]")
    return result


def _convert_scalar(hint: type, data: object, path: str) -> Any:
    is_bool = isinstance(data, bool)
    if hint is bool and is_bool:
        return data
    if hint is int and isinstance(data, int) and not is_bool:
        return data
    if hint is float and isinstance(data, int | float) and not is_bool:
        return float(data)
    if hint is str and isinstance(data, str):
        return data
    raise RecordDataError(
        path, f"value={data!r} (type {type(data).__name__}) should be a {hint.__name__}."
    )


def _expect_list(data: object, path: str) -> list[Any]:
    if not isinstance(data, list | tuple):
        raise RecordDataError(
            path, f"value={data!r} (type {type(data).__name__}) should be a list."
        )
    return list(data)
