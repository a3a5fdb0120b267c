"""Errors raised by the harness.

Every error the harness raises on purpose derives from :class:`HarnessError`::

    HarnessError
    +-- UsageError            bad command-line or plugin option value
    |   +-- UnknownScenarioError
    +-- TargetError           a target could not be loaded, started or talked to
    |   +-- TargetLoadError   ``--target`` names nothing loadable
    |   +-- TargetAuthError   the target refused the harness's credentials
    |   +-- AdapterCallTimeout  an adapter call did not return within its bound
    +-- ScenarioError         a scenario definition breaks a rule
    +-- FindingsFileError     a findings.json that cannot be read back
    +-- ProtocolError         a frame from a remote target that breaks the wire protocol

Findings are not errors: an isolation failure is data (:class:`harness.model.Finding`), reported
and turned into exit code 1. Errors are exit code 2.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "AdapterCallTimeout",
    "FindingsFileError",
    "HarnessError",
    "ProtocolError",
    "ScenarioError",
    "TargetAuthError",
    "TargetError",
    "TargetLoadError",
    "UnknownScenarioError",
    "UsageError",
    "did_you_mean",
]


class HarnessError(Exception):
    """Root of every error the harness raises on purpose."""


class UsageError(HarnessError):
    """A command-line or plugin option has a value the harness cannot use.

    Causes: a typo in a name, a number out of range, a malformed seed range.
    Fix: the message names the option, the value given and what is expected.
    """


class UnknownScenarioError(UsageError):
    """``--scenario`` names no registered scenario.

    Fix: use one of the names listed in the message, or ``all``.
    """


class TargetError(HarnessError):
    """The target failed outside a turn: it could not start, stop or open a session.

    Causes: a server that is not listening, a token it refuses, an adapter that raised.
    Fix: the message names the target and the operation; check the target on its own first.
    """

    #: Set by ``harness.runner.run`` when a run stopped on this error: the
    #: :class:`harness.model.RunResult` as far as it went (``stats["failed"]`` says why, no
    #: findings). ``harness run`` writes it with the finished runs before it exits 2.
    result: object = None


class TargetLoadError(TargetError):
    """``--target`` names nothing the harness can load.

    Accepted forms: ``reference``, ``ws://host:port/path``, ``wss://...`` or ``module:attr`` where
    attr is a Target instance, a Target class or a zero-argument factory.
    """


class TargetAuthError(TargetError):
    """The target refused the credentials the harness presented for a simulated user.

    Causes: ``HARNESS_JWT_SECRET`` is not the server's signing secret, pre-issued tokens in
    ``HARNESS_TOKENS_FILE`` expired or belong to another deployment, or the clocks of the two
    machines disagree by more than the token lifetime. The run stops: without accepted tokens
    no turn can say anything about isolation.
    Fix: the message quotes the server's close code and reason; set the right secret or issue
    fresh tokens, then run again.
    """


class AdapterCallTimeout(TargetError):
    """An adapter call did not return within its bound (docs/reliability.md).

    Causes: a ``start()`` that waits for a server that never comes, a ``stop()`` that loops, a
    sync call (``events()``, the constructor) that blocks. Fix: make the call return, or raise
    ``--call-timeout`` when the target is only slow.
    """


class ScenarioError(HarnessError):
    """A scenario definition breaks a rule (an unknown user, a thread the user does not own...).

    Fix: the message gives the scenario, the session or turn and the rule, one line each.
    """


class FindingsFileError(HarnessError):
    """A findings file that ``replay``, ``shrink`` or ``report`` cannot read.

    Causes: not JSON, a different ``schema``, a missing field, a file from another tool.
    Fix: pass a ``findings.json`` written by ``harness run`` or ``harness explore``.
    """


class ProtocolError(HarnessError):
    """A remote target sent a frame that breaks the wire protocol (DESIGN.md section 4).

    Causes: not JSON, not an object, a missing ``type``. The frame is kept in the message.
    """


def did_you_mean(value: str, choices: Iterable[str]) -> str:
    """Return ``" Did you mean 'x'?"`` for the closest choice, or ``""`` when none is close."""
    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""
