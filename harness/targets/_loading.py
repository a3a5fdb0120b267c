"""Loading a target from ``--target`` and reading its optional attributes.

``reference`` is the embedded backend (:mod:`harness.targets.reference`), ``ws://``/``wss://`` a
running server (:mod:`harness.targets.websocket`), ``module:attr`` a user's own adapter: an
instance, a class or a zero-argument factory, imported from the current directory first.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from collections.abc import Mapping
from typing import Any

from harness.contract import DEFAULT_CAPABILITIES, Target
from harness.errors import TargetLoadError

__all__ = ["TargetInfo", "describe", "load_target"]


def _import_target_module(spec: str, module_name: str) -> Any:
    """Import ``module_name`` as ``python -m`` would: the current directory comes first.

    The ``harness`` console script does not put the current directory on ``sys.path``, so an
    adapter in the project one runs from (``--target mypkg.adapters:MyTarget``) would not be
    found without an install; it is looked for there, as pytest and uvicorn do.
    """
    here = os.getcwd()
    if here not in sys.path and "" not in sys.path:
        sys.path.insert(0, here)
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        raise TargetLoadError(
            f"target={spec!r}: could not import module {module_name!r} ({exc}). "
            f"Check the module path (looked in the current directory {here!r} and in the "
            "installed packages) and that its package is installed in this environment."
        ) from exc


class TargetInfo:
    """The optional attributes of a target, with the contract's defaults filled in.

    An optional method that raises or returns the wrong type falls back to its default and
    leaves a line in ``problems`` (the runner reports each as a ``crash``).
    """

    __slots__ = (
        "adapter_objects",
        "capabilities",
        "deterministic",
        "event_rules",
        "limits",
        "name",
        "problems",
        "requires_fresh_process",
    )

    def __init__(self, target: Target) -> None:
        self.name: str = str(getattr(target, "name", type(target).__name__))
        self.capabilities: frozenset[str] = frozenset(
            getattr(target, "capabilities", DEFAULT_CAPABILITIES)
        )
        self.problems: list[str] = []
        self.limits: dict[str, int] = self._optional(
            target, "limits", dict, "a dict such as {'engines_per_user': 2}, or {} when unknown"
        )
        self.deterministic: bool = bool(getattr(target, "deterministic", True))
        self.requires_fresh_process: bool = bool(getattr(target, "requires_fresh_process", False))
        self.event_rules: dict[str, Any] = dict(getattr(target, "event_rules", {}) or {})
        self.adapter_objects: tuple[object, ...] = self._optional(
            target, "adapter_objects", tuple, "a sequence of the adapter's own objects"
        )

    def _optional(self, target: Target, method: str, kind: type[Any], expected: str) -> Any:
        """Call an optional zero-argument method; its default on an error, noted."""
        function = getattr(target, method, None)
        if not callable(function):
            return kind()
        try:
            return kind(function())
        except Exception as exc:
            self.problems.append(
                f"{self.name}.{method}() failed: {type(exc).__name__}: {exc}; the run went on "
                f"with the default {kind()!r}. Fix {method}() to return {expected}."
            )
            return kind()


def describe(target: Target) -> TargetInfo:
    """Read a target's optional attributes, with defaults."""
    return TargetInfo(target)


_REQUIRED = ("start", "stop", "open_session", "shared_roots")


def _check_target(obj: object, spec: str) -> Target:
    missing = [name for name in _REQUIRED if not callable(getattr(obj, name, None))]
    if missing or not hasattr(obj, "name"):
        if not hasattr(obj, "name"):
            missing.append("name")
        raise TargetLoadError(
            f"target={spec!r} loaded {obj!r} (type {type(obj).__name__}), which is not a Target: "
            f"it lacks {', '.join(missing)}. A Target has name, start(), stop(), "
            "open_session(user) and shared_roots() (docs/targets.md)."
        )
    return obj  # type: ignore[return-value]


def load_target(
    spec: str,
    *,
    fault: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> Target:
    """Load a target from ``reference``, ``ws://...``/``wss://...`` or ``module:attr``.

    Args:
        spec: what ``--target`` was given.
        fault: a ``harness_backend.faults`` name; only the reference target accepts one.
        options: extra keyword arguments for the built-in adapters.

    Raises:
        TargetLoadError: the spec names nothing loadable; the message says what was tried.

    Example:
        >>> load_target("reference").name
        'reference'
    """
    options = dict(options or {})
    spec = spec.strip()
    if spec in ("", "reference"):
        from harness.targets.reference import ReferenceTarget

        return ReferenceTarget(fault=fault, **options)
    if spec.startswith("<"):
        # What derive_target_spec writes for a class defined in __main__ or in a function.
        raise TargetLoadError(
            f"target={spec!r} cannot be loaded: its class was defined in __main__ or inside a "
            "function, so no module:attr names it. Move the class into an importable module "
            "and pass --target module:attr."
        )
    if fault is not None and not spec.startswith(("ws://", "wss://")) and ":" in spec:
        # Import first: a module that cannot be imported is the problem to name.
        _import_target_module(spec, spec.partition(":")[0])
    if fault is not None:
        raise TargetLoadError(
            f"fault={fault!r} was given with target={spec!r}, but faults switch the embedded "
            'reference backend only. Drop --fault (or the file\'s "fault"), or use --target '
            "reference."
        )
    if spec.startswith(("ws://", "wss://")):
        from harness.targets.websocket import WebSocketTarget

        return WebSocketTarget(spec, **options)
    if "://" in spec:
        raise TargetLoadError(
            f"target={spec!r} has a URL scheme the harness cannot speak. "
            "Use ws://host:port/path or wss://..., 'reference', or module:attr."
        )
    if ":" not in spec:
        raise TargetLoadError(
            f"target={spec!r} is not 'reference', a ws:// URL or 'module:attr'. "
            "Give the module and the attribute, e.g. --target mypkg.adapters:MyTarget."
        )
    module_name, _, attr = spec.partition(":")
    module = _import_target_module(spec, module_name)
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            names = [n for n in dir(obj) if not n.startswith("_")]
            from harness.errors import did_you_mean

            raise TargetLoadError(
                f"target={spec!r}: {module_name!r} has no attribute {part!r}."
                f"{did_you_mean(part, names)}"
            ) from None
    if inspect.isclass(obj) or (callable(obj) and not _looks_like_target(obj)):
        obj = _construct(spec, attr, obj)
    return _check_target(obj, spec)


def _construct(spec: str, attr: str, factory: Any) -> Any:
    """Call the target's class or factory; an error in it is a TargetLoadError."""
    try:
        return factory()
    except TypeError as exc:
        raise TargetLoadError(
            f"target={spec!r}: calling {attr!r} with no arguments failed ({exc}). "
            "Point --target at a Target instance, a class or a zero-argument factory."
        ) from exc
    except TargetLoadError:
        raise
    except Exception as exc:
        raise TargetLoadError(
            f"target={spec!r}: the constructor {attr}() raised {type(exc).__name__}: {exc}. "
            "A target's constructor should only store its settings; connect or build the "
            "system under test in start()."
        ) from exc


def _looks_like_target(obj: object) -> bool:
    return all(callable(getattr(obj, name, None)) for name in _REQUIRED)
