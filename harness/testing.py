"""Assertion helpers for tests that drive the harness: :func:`assert_isolated` and friends.

Used with the pytest plugin's ``run_scenario`` fixture (docs/pytest.md)::

    from harness.testing import assert_isolated

    def test_two_tabs_stay_apart(run_scenario):
        assert_isolated(run_scenario("multi_tab", users=8))

A failure lists every finding the way the terminal report does (kind, users, severity, summary,
evidence, expected/actual, docs link) and ends with the command that replays the run. A leak
always fails; a hazard only when strict (``strict=True``, or ``--harness-strict`` /
``[tool.harness] strict = true``, which the plugin makes the default around each test).
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

from harness.errors import HarnessError
from harness.model import Finding, RunResult
from harness.targets import local_server as local_server

__all__ = [
    "IsolationFailure",
    "StagingServer",
    "MAX_EVIDENCE_LINES",
    "MAX_FINDINGS_SHOWN",
    "assert_isolated",
    "derive_seed",
    "format_finding",
    "format_findings",
    "local_server",
    "strict_by_default",
]

#: Evidence lines shown per finding; findings.json (``--harness-report``) keeps them all.
MAX_EVIDENCE_LINES = 8
#: Findings shown per run: the first of every kind, then others in order, up to this many.
MAX_FINDINGS_SHOWN = 12


#: Whether :func:`assert_isolated` fails on hazards when not told (set per test by the plugin).
_STRICT: contextvars.ContextVar[bool] = contextvars.ContextVar("harness_strict", default=False)


@contextlib.contextmanager
def strict_by_default(strict: bool) -> Iterator[None]:
    """Make ``strict`` the default of :func:`assert_isolated` inside the ``with`` block.

    The pytest plugin wraps every test in it with ``--harness-strict`` (or ``[tool.harness]
    strict = true``); an explicit ``assert_isolated(..., strict=...)`` still wins.

    Example:
        >>> with strict_by_default(True):
        ...     assert_isolated(result)  # doctest: +SKIP
    """
    token = _STRICT.set(strict)
    try:
        yield
    finally:
        _STRICT.reset(token)


class IsolationFailure(HarnessError, AssertionError):
    """A run the test expected to be isolated produced findings.

    Causes: the target leaked data, state or events between users (see the kinds in
    docs/findings.md). Fix: run the replay command in the message, read the evidence, fix the
    target; the same seed and strategy give the same run on an in-process target.
    """


@dataclass(frozen=True, slots=True)
class StagingServer:
    """Where a staging server is and the secret its tokens are signed with, when known.

    ``local`` is True for a ``harness_backend.server`` the test session started itself.
    """

    url: str
    secret: str | None
    local: bool


def derive_seed(session_seed: int, nodeid: str) -> int:
    """The seed of one test: a hash of the session seed and the test's node id, mod 2**32.

    The same pair gives the same seed on any machine and under any pytest-xdist worker, so a
    failure on CI replays on a laptop with ``--harness-seed`` and the node id.

    Example:
        >>> derive_seed(0, "suites/test_x.py::test_a") == derive_seed(0, "suites/test_x.py::test_a")
        True
    """
    digest = hashlib.sha256(f"{session_seed}:{nodeid}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 2**32


def format_finding(finding: Finding, *, replay: str = "") -> str:
    """Render one finding as plain text lines, as the terminal reporter does."""
    header = (
        f"{finding.kind}  users: {', '.join(finding.users) or '-'}  severity: {finding.severity}"
    )
    lines = [header, f"  {finding.summary}"]
    if finding.evidence:
        lines.append("  evidence:")
        lines += [f"    {line}" for line in finding.evidence[:MAX_EVIDENCE_LINES]]
        hidden = len(finding.evidence) - MAX_EVIDENCE_LINES
        if hidden > 0:
            lines.append(f"    ... and {hidden} more (--harness-report writes them all)")
    if finding.expected is not None or finding.actual is not None:
        lines.append(f"  - expected {finding.expected}")
        lines.append(f"  + actual   {finding.actual}")
    from harness.reporting import docs_link  # jinja2 and rich: loaded only when a finding shows

    lines.append(f"  docs: {docs_link(finding.kind)}")
    command = finding.replay or replay
    if command:
        lines.append(f"  replay: {command}")
    return "\n".join(lines)


def format_findings(result: RunResult) -> str:
    """Render the findings of ``result`` under a header naming the run and counting kinds.

    The first finding of every kind is shown, then the others in order, up to
    :data:`MAX_FINDINGS_SHOWN`; the rest are counted.
    """
    kinds = Counter(f.kind for f in result.findings)
    header = (
        f"{len(result.findings)} isolation finding(s) in scenario={result.scenario!r} "
        f"seed={result.seed} strategy={result.strategy!r} target={result.target!r}"
        + (f" fault={result.fault!r}" if result.fault else "")
        + "\nkinds: "
        + ", ".join(f"{kind} x{count}" for kind, count in kinds.items())
    )
    firsts = {f.kind: f for f in reversed(result.findings)}
    ordered = [f for f in result.findings if firsts[f.kind] is f]
    ordered += [f for f in result.findings if firsts[f.kind] is not f]
    shown = ordered[:MAX_FINDINGS_SHOWN]
    body = [format_finding(f, replay=result.replay) for f in shown]
    hidden = len(ordered) - len(shown)
    if hidden > 0:
        body.append(f"... and {hidden} more finding(s) (--harness-report writes them all)")
    return "\n".join([header, *body, f"replay the run: {result.replay}"])


def assert_isolated(
    result: RunResult | Iterable[RunResult],
    *,
    allow: Iterable[str] = (),
    strict: bool | None = None,
) -> None:
    """Fail the calling test when a run produced leaks (and hazards, when strict).

    Args:
        result: one :class:`~harness.model.RunResult`, or several (every one is checked).
        allow: finding kinds to tolerate (e.g. ``{"limit-breach"}`` for a target known to lack
            per-user limits); any other kind still fails.
        strict: fail on ``hazard`` findings too. ``None`` (the default) follows
            ``--harness-strict`` / ``[tool.harness] strict`` (see :func:`strict_by_default`).

    Raises:
        IsolationFailure: an ``AssertionError`` listing kind, users, summary, evidence,
            expected/actual, docs link and the replay command of every finding.
        TypeError: ``result`` is not a RunResult or an iterable of them.

    Example:
        >>> assert_isolated(run_scenario("burst", users=10))  # doctest: +SKIP
    """
    __tracebackhide__ = True
    results = [result] if isinstance(result, RunResult) else list(result)
    for item in results:
        if not isinstance(item, RunResult):
            raise TypeError(
                f"result={item!r} (type {type(item).__name__}) is not a RunResult; "
                "pass what run_scenario() or harness.runner.run() returned"
            )
    allowed = frozenset(allow)
    strict = _STRICT.get() if strict is None else strict
    failing = []
    for item in results:
        kept = tuple(
            f for f in item.findings if f.kind not in allowed and (strict or f.severity != "hazard")
        )
        if kept:
            failing.append(replace(item, findings=kept))
    if failing:
        raise IsolationFailure("\n\n".join(format_findings(item) for item in failing))
