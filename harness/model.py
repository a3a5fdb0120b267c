"""Frozen records shared by every part of the harness.

Everything a run produces is one of these records. They hold plain data (strings, numbers,
tuples, mappings) and never a live object of the target, so a :class:`Trace` can be serialized,
digested, sent across processes and read by reporters long after the target stopped.

Mapping fields hold plain ``dict`` values so records pickle and serialize; treat them as
read-only. Change a record with :func:`dataclasses.replace`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

__all__ = [
    "CallTool",
    "Checkpoint",
    "Event",
    "EVENT_TYPES",
    "Fail",
    "Finding",
    "FINDING_KINDS",
    "FoundObject",
    "FoundValue",
    "Pause",
    "RetentionRecord",
    "RootWalk",
    "RunRecord",
    "RunResult",
    "RUN_RECORD_FIELDS",
    "Scenario",
    "ScheduleRecord",
    "SessionPlan",
    "SessionRecord",
    "SEVERITIES",
    "Severity",
    "SimUser",
    "Step",
    "TERMINAL_EVENTS",
    "Think",
    "Trace",
    "Turn",
    "TurnOutcome",
    "TurnRecord",
    "TurnStatus",
]

#: Event types of the contract, in the order a turn emits them.
EVENT_TYPES: tuple[str, ...] = (
    "agent_started",
    "agent_thinking",
    "tool_executing",
    "tool_completed",
    "agent_completed",
    "agent_error",
)
#: The first of these in a run is its terminal event.
TERMINAL_EVENTS: frozenset[str] = frozenset({"agent_completed", "agent_error"})

#: Finding kinds (DESIGN.md section 5, pinned).
FINDING_KINDS: tuple[str, ...] = (
    "foreign-data",
    "shared-state",
    "event-missing",
    "event-misrouted",
    "event-order",
    "context-mismatch",
    "retention",
    "limit-breach",
    "hang",
    "crash",
)

#: How much a finding weighs. ``leak``: data of one user reached another, code ran under another
#: user's or run's identity, or the contract broke where it was observed (proven by evidence:
#: it fails a run). ``hazard``: state that would leak under another interleaving or another
#: design, with nothing seen crossing (fails a run only when strict). See docs/findings.md.
Severity: TypeAlias = Literal["leak", "hazard"]
#: Every severity, heaviest first.
SEVERITIES: tuple[Severity, ...] = ("leak", "hazard")

#: ``completed``/``error``/``rejected``/``timeout`` are the contract's statuses; ``cancelled``
#: marks a turn the harness itself abandoned (a tab closed or a cancel mid-tool).
TurnStatus: TypeAlias = Literal["completed", "error", "rejected", "timeout", "cancelled"]


# --------------------------------------------------------------------------- users and plans


@dataclass(frozen=True, slots=True)
class SimUser:
    """One simulated user: a unique identity and the canaries that mark its data."""

    user_id: str
    thread_ids: tuple[str, ...]
    email: str
    display_name: str
    canaries: tuple[str, ...]
    token: str = ""
    company: str = ""


@dataclass(frozen=True, slots=True)
class Think:
    """The agent thinks aloud: one ``agent_thinking`` event carrying ``text``."""

    text: str


@dataclass(frozen=True, slots=True)
class CallTool:
    """The agent calls tool ``name`` with ``params``: ``tool_executing`` then ``tool_completed``."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Pause:
    """The agent waits ``seconds`` of loop time (virtual time on the seeded loop)."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Fail:
    """The agent fails with ``reason``: the turn ends with ``agent_error``."""

    reason: str


Step: TypeAlias = Think | CallTool | Pause | Fail


@dataclass(frozen=True, slots=True)
class Turn:
    """One chat turn: a message carrying a canary and the plan a scripted agent executes.

    ``victim`` is set only on an intrusion: a turn sent on a thread of another user (that
    user's id), which the target must refuse (outcome ``rejected``) without running anything or
    telling the intruder anything about the thread.

    ``retry`` marks a turn that repeats the ``run_id`` of an earlier turn of the same user on
    the same thread: a client retrying after a rejection, a timeout or a disconnect, or a tab
    resuming a run another tab of the user started. Without it a repeated run id is an error
    (``harness.scenarios.validate``). A target may refuse a retry (``rejected``) or run it
    again; it must never let it cross users or bypass a limit (docs/targets.md).
    """

    run_id: str
    thread_id: str
    message: str
    plan: tuple[Step, ...] = ()
    victim: str | None = None
    retry: bool = False


@dataclass(frozen=True, slots=True)
class SessionPlan:
    """One connection (browser tab) of a user and what the runner does with it.

    ``turns`` run one after another unless ``burst`` is set, in which case they start together
    (through ``Session.burst`` where the target offers it). ``close_after`` closes the tab that
    many loop seconds after it opened, mid-turn if a turn is running, and ``reopen`` then opens a
    new tab for the same user that runs ``reopen_turns``. ``cancel_after`` abandons each turn
    that many seconds after it started.
    """

    session_id: str
    user_id: str
    turns: tuple[Turn, ...]
    opens_at: float = 0.0
    gap: float = 0.0
    burst: bool = False
    close_after: float | None = None
    reopen_turns: tuple[Turn, ...] = ()
    cancel_after: float | None = None
    keep_open: float = 0.0


@dataclass(frozen=True, slots=True)
class Scenario:
    """Everything needed to drive one run: users, their tabs and turns, and options."""

    name: str
    seed: int
    users: tuple[SimUser, ...]
    sessions: tuple[SessionPlan, ...]
    turn_timeout: float = 30.0
    description: str = ""
    #: Loop seconds between global checkpoints (simultaneous walks of every user's roots).
    checkpoint_interval: float = 0.05
    #: A light user's turn may take at most this many times its planned duration.
    starvation_factor: float = 4.0
    #: Users whose load is expected to be heavy (not held to the starvation bound).
    heavy_users: tuple[str, ...] = ()
    #: Mixed into the seed for fresh ids against a long-lived server
    #: (see ``harness.scenarios.build``).
    salt: str = ""


# --------------------------------------------------------------------------- what a run records


@dataclass(frozen=True, slots=True)
class Event:
    """One event as a connection received it (DESIGN.md section 4).

    ``user_id`` and ``thread_id`` are what the target put in the event, never filled in from the
    connection. ``seq`` is the arrival index on its connection; ``step`` the arrival index across
    the whole run when the adapter reports events as they arrive.
    """

    type: str
    run_id: str | None
    thread_id: str | None
    user_id: str | None
    payload: Mapping[str, Any]
    seq: int
    connection_id: str | None = None
    t: float | None = None
    raw: str | None = None
    step: int | None = None


@dataclass(frozen=True, slots=True)
class TurnOutcome:
    """How a turn ended. ``result["tool_results"]`` lists ``{name, params, result, error}``."""

    run_id: str
    status: TurnStatus
    result: Mapping[str, Any] | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """One connection of a user: when it was open and every event it received."""

    session_id: str
    user_id: str
    opened_at: float
    closed_at: float | None
    events: tuple[Event, ...]
    connection_id: str | None = None
    #: Run-wide step indices of the open and the close: an order where loop times tie.
    opened_step: int | None = None
    closed_step: int | None = None


@dataclass(frozen=True, slots=True)
class TurnRecord:
    """One turn as the runner drove it."""

    session_id: str
    user_id: str
    turn: Turn
    started_at: float
    ended_at: float
    outcome: TurnOutcome
    step: int
    burst: bool = False
    crash: str | None = None
    #: Run-wide step index when the turn ended (``step`` is when it started).
    ended_step: int | None = None


@dataclass(frozen=True, slots=True)
class FoundValue:
    """A string met by a walk that carries a harness-generated token (an id, canary, email)."""

    path: str
    value: str
    #: The class holding the string and where it is defined, ``module.Class (file:line)``,
    #: with the line assigning the attribute when found; empty when unknown.
    site: str = ""


@dataclass(frozen=True, slots=True)
class FoundObject:
    """A mutable object reachable from two owners within one checkpoint."""

    identity: int
    type_name: str
    paths: Mapping[str, str]  # owner (user id) -> path from that owner's roots
    #: Where the object's class is defined, ``module.Class (file:line)``; empty when unknown.
    site: str = ""


@dataclass(frozen=True, slots=True)
class RootWalk:
    """What one walk of one owner's roots found (paths and values, never the objects)."""

    owner: str | None  # user id; None for the target's shared roots
    session_id: str | None
    active_runs: tuple[str, ...]
    values: tuple[FoundValue, ...]
    visited: int
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Walks taken at one instant. ``shared`` lists objects reachable from two users' roots."""

    index: int
    label: str
    t: float
    step: int
    walks: tuple[RootWalk, ...]
    shared: tuple[FoundObject, ...] = ()


@dataclass(frozen=True, slots=True)
class RetentionRecord:
    """What survived after every session closed and a garbage collection ran.

    ``alive`` maps owner to the root paths whose objects are still alive; ``shared_values`` are
    tokens found by walking the shared roots; ``reachable`` maps ``"owner:root path"`` of a
    survivor to the path from the shared roots (or a module global of the target's code) that
    keeps it alive, when one was found.
    """

    alive: Mapping[str, tuple[str, ...]]
    shared_values: tuple[FoundValue, ...]
    reachable: Mapping[str, str] = field(default_factory=dict)
    checked: bool = True
    note: str = ""
    #: Tokens found by walking the module-level globals of the target's code (module caches,
    #: logs, mutable default arguments), paths starting with the module's name.
    module_values: tuple[FoundValue, ...] = ()


@dataclass(frozen=True, slots=True)
class ScheduleRecord:
    """The scheduler's decisions, summarized: how many steps, and a digest of every choice."""

    strategy: str
    seed: int
    steps: int = 0
    digest: str = ""
    decisions: tuple[int, ...] = ()
    #: Real I/O reached the loop (sockets, pipes, subprocesses, executor threads): the order
    #: of what the OS delivered is real-time, so replay is best effort (docs/scheduling.md).
    real_io: bool = False


@dataclass(frozen=True, slots=True, repr=False)
class Trace:
    """Everything needed to explain a finding; (scenario, seed, strategy) replays it."""

    scenario: str
    seed: int
    strategy: str
    target: str
    users: tuple[SimUser, ...]
    sessions: tuple[SessionRecord, ...]
    turns: tuple[TurnRecord, ...]
    checkpoints: tuple[Checkpoint, ...] = ()
    retention: RetentionRecord | None = None
    limits: Mapping[str, int] = field(default_factory=dict)
    capabilities: frozenset[str] = frozenset()
    schedule: ScheduleRecord | None = None
    notes: tuple[str, ...] = ()
    deterministic: bool = True
    scenario_spec: Scenario | None = None
    heavy_users: tuple[str, ...] = ()
    starvation_factor: float = 4.0
    crashes: tuple[str, ...] = ()
    #: How much the observer looked: walks, checkpoints, objects visited (0 when not observed).
    observed: Mapping[str, int] = field(default_factory=dict)

    def __repr__(self) -> str:
        # A short repr: asyncio formats the repr of a finished task's result (the trace) when
        # Runner.run checks its SIGINT handler, and a full repr of a big trace took seconds.
        return (
            f"Trace(scenario={self.scenario!r}, seed={self.seed!r}, strategy={self.strategy!r}, "
            f"target={self.target!r}, users={len(self.users)}, sessions={len(self.sessions)}, "
            f"turns={len(self.turns)}, checkpoints={len(self.checkpoints)})"
        )


@dataclass(frozen=True, slots=True)
class Finding:
    """One isolation failure: who, what, the evidence, and the command that replays it.

    ``severity`` is ``"leak"`` (proven by evidence: fails the run) or ``"hazard"`` (would leak
    under another interleaving or design: fails the run only when strict). Findings of different
    severity are never merged.
    """

    kind: str
    users: tuple[str, ...]
    summary: str
    evidence: tuple[str, ...] = ()
    first_seen: int = 0
    replay: str = ""
    expected: str | None = None
    actual: str | None = None
    severity: Severity = "leak"
    #: Observations this finding stands for; a group sums the counts of its members.
    count: int = 1
    #: A few concrete observations (one line each) from a group's other members.
    examples: tuple[str, ...] = ()
    #: The cause without users, ``kind|channel|pattern``: findings with one key are one root
    #: cause, and :func:`harness.detectors.group_findings` makes them one group.
    group_key: str = ""
    #: For data crossing users, every ``(owner, receiver)`` pair this finding covers.
    pairs: tuple[tuple[str, str], ...] = ()
    #: Where the code of the shared or leaking object lives: ``module.Class (file:line)`` and,
    #: when found, the line that assigns the attribute.
    sites: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRecord:
    """One run as every report knows it: what identifies and replays it, and what it found.

    The fields a run's records share, defined once: :class:`RunResult` adds the live Trace, a
    findings file's records (``harness.reporting.FindingsRun``, ``FindingsFile``) are this.
    """

    scenario: str
    seed: int
    strategy: str
    target: str
    trace_digest: str
    replay: str
    findings: tuple[Finding, ...]
    #: The reference target's fault switched on for this run (None otherwise).
    fault: str | None = None
    stats: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def record(self) -> RunRecord:
        """This run as a plain :class:`RunRecord` (without what a subclass adds)."""
        return RunRecord(**{name: getattr(self, name) for name in RUN_RECORD_FIELDS})


@dataclass(frozen=True, slots=True, kw_only=True)
class RunResult(RunRecord):
    """One run of one (scenario, seed, strategy) against one target, with its findings."""

    trace: Trace


#: The field names of :class:`RunRecord`, in order.
RUN_RECORD_FIELDS: tuple[str, ...] = tuple(RunRecord.__dataclass_fields__)
