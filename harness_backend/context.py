"""``UserExecutionContext``: who a piece of work runs for, immutable and never shared.

A context names one user, one thread and one run. It is a frozen, slotted record; its metadata
is a read-only view (``MappingProxyType``) over a private deep copy, so two contexts never share a
mutable dict, and nobody can change a context after it was built. Sub-agents get a
:meth:`UserExecutionContext.child` context one level deeper, up to ``MAX_DEPTH``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar

from .errors import InvalidContextError

__all__ = ["PLACEHOLDER_IDS", "UserExecutionContext", "validate_id"]

#: Id values that betray a fixture or a missing value; refused case-insensitively.
PLACEHOLDER_IDS: frozenset[str] = frozenset(
    {"test", "default", "none", "null", "undefined", "mock", "demo", "anonymous", "user", "0"}
)

_ID_PATTERN = re.compile(r"[A-Za-z0-9_.:-]{1,128}")


def validate_id(field_name: str, value: object) -> str:
    """Return ``value`` if it is a usable id, else raise :class:`InvalidContextError`.

    A usable id is a non-empty string of at most 128 characters from ``[A-Za-z0-9_.:-]`` that is
    not a placeholder (see :data:`PLACEHOLDER_IDS`).

    Raises:
        InvalidContextError: naming the field, the value and the rule it breaks.
    """
    if not isinstance(value, str):
        raise InvalidContextError(
            f"{field_name}={value!r} ({type(value).__name__}) is not a string; "
            f"pass a real {field_name} such as 'usr_0123456789ab'."
        )
    if value.lower() in PLACEHOLDER_IDS:
        raise InvalidContextError(
            f"{field_name}={value!r} is a placeholder value; placeholders "
            f"({', '.join(sorted(PLACEHOLDER_IDS))}) hide missing ids. Pass the real {field_name}."
        )
    if _ID_PATTERN.fullmatch(value) is None:
        raise InvalidContextError(
            f"{field_name}={value!r} is not a valid id; expected 1-128 characters from "
            "[A-Za-z0-9_.:-]. Pass the id the client sent, unchanged."
        )
    return value


@dataclass(frozen=True, slots=True)
class UserExecutionContext:
    """The identity one piece of work runs under.

    Build it with :meth:`create` (or the constructor); ids are validated, ``request_id``
    defaults to ``run_id`` and ``metadata`` is deep-copied into a read-only mapping.

    Example:
        >>> ctx = UserExecutionContext.create("usr_1a2b3c4d5e6f", "thread_1", "run_1")
        >>> ctx.child("search").depth
        1
    """

    user_id: str
    thread_id: str
    run_id: str
    request_id: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    depth: int = 0
    parent_run_id: str | None = None
    operation: str | None = None

    #: Deepest sub-agent nesting :meth:`child` allows.
    MAX_DEPTH: ClassVar[int] = 3

    def __post_init__(self) -> None:
        validate_id("user_id", self.user_id)
        validate_id("thread_id", self.thread_id)
        validate_id("run_id", self.run_id)
        if self.request_id == "":
            object.__setattr__(self, "request_id", self.run_id)
        validate_id("request_id", self.request_id)
        if self.parent_run_id is not None:
            validate_id("parent_run_id", self.parent_run_id)
        if self.operation is not None:
            validate_id("operation", self.operation)
        if (
            not isinstance(self.depth, int)
            or isinstance(self.depth, bool)
            or not 0 <= self.depth <= self.MAX_DEPTH
        ):
            raise InvalidContextError(
                f"depth={self.depth!r} is out of range; expected an int from 0 to "
                f"MAX_DEPTH={self.MAX_DEPTH}. Build sub-contexts with child()."
            )
        if not isinstance(self.metadata, Mapping):
            raise InvalidContextError(
                f"metadata={self.metadata!r} ({type(self.metadata).__name__}) is not a mapping; "
                "pass a dict or None."
            )
        # A private deep copy behind a read-only view: no caller-owned dict, and no dict shared
        # with any other context, is ever reachable from this one.
        private = copy.deepcopy(dict(self.metadata))
        object.__setattr__(self, "metadata", MappingProxyType(private))

    @classmethod
    def create(
        cls,
        user_id: str,
        thread_id: str,
        run_id: str,
        metadata: Mapping[str, Any] | None = None,
        request_id: str | None = None,
    ) -> UserExecutionContext:
        """Build a validated top-level context.

        Raises:
            InvalidContextError: for any id that is empty, malformed or a placeholder.
        """
        return cls(
            user_id=user_id,
            thread_id=thread_id,
            run_id=run_id,
            request_id=request_id if request_id is not None else run_id,
            metadata={} if metadata is None else metadata,
        )

    def child(self, operation: str) -> UserExecutionContext:
        """Return the context of a sub-agent doing ``operation`` for this run, one level deeper.

        Same user, thread and run; ``parent_run_id`` is this run, ``request_id`` gains the
        operation.

        Raises:
            InvalidContextError: past ``MAX_DEPTH`` or for an invalid ``operation``.
        """
        if self.depth >= self.MAX_DEPTH:
            raise InvalidContextError(
                f"depth={self.depth!r} is already MAX_DEPTH={self.MAX_DEPTH}; "
                f"child(operation={operation!r}) would nest too deep. Flatten the sub-agents."
            )
        validate_id("operation", operation)
        return UserExecutionContext(
            user_id=self.user_id,
            thread_id=self.thread_id,
            run_id=self.run_id,
            request_id=f"{self.request_id}:{operation}",
            metadata=self.metadata,
            depth=self.depth + 1,
            parent_run_id=self.run_id,
            operation=operation,
        )
