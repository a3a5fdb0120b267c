"""The adapter skeleton ``harness init`` writes: a factory-pattern backend on the kit."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.errors import UsageError

__all__ = [
    "FILL_INS",
    "SKELETON",
    "SKELETON_CLASS",
    "SKELETON_MODULE",
    "WrittenSkeleton",
    "write_skeleton",
]

#: The module name and Target class of the file ``harness init`` writes.
SKELETON_MODULE = "isolation_target"
SKELETON_CLASS = "BackendTarget"
#: How many places a user fills in.
FILL_INS = 6

SKELETON = '''\
"""isolation_target: the isolation harness's adapter (a Target) for your backend.

Written by `harness init`. Each place to fill in is marked `# FILL IN (n/6)`, with an example:
replace the line under the comment (the one that raises NotImplementedError or gives a
placeholder) with your code. Then, from this directory:

    harness check-target isolation_target:BackendTarget
    harness run --target isolation_target:BackendTarget --scenario all --users 6

The adapter is built on harness.kit: the session records each message your backend sends to a
connection as it was sent (never filling user_id or thread_id in, so misrouting shows), numbers
the events, lists the live runs as roots, runs bursts, and drops its references on close. The
guide is docs/targets.md of the harness ("Adapting a factory-pattern backend").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.kit import KitTarget, RecordingSession, run_plan
from harness.model import SimUser, Turn, TurnOutcome

# FILL IN (1/6): import your backend's factory, and list the exceptions it raises to refuse a
# turn (a per-user limit, a validation error): they become `rejected` outcomes. Example:
#     from mybackend.factory import AgentFactory, LimitExceeded
#     BACKEND_REFUSALS: tuple[type[Exception], ...] = (LimitExceeded,)
BACKEND_REFUSALS: tuple[type[Exception], ...] = ()


class ThreadRefused(Exception):
    """A turn on a thread another user opened (the `intrusion` scenario sends those)."""


class BackendSession(RecordingSession):
    """One connection (one browser tab) of one user."""

    refusals = (ThreadRefused, *BACKEND_REFUSALS)

    def __init__(self, target: BackendTarget, user: SimUser, connection_id: str) -> None:
        super().__init__(user, connection_id)
        self.target = target
        target.connections.register(self)  # from now on it receives what is sent to its user

    async def open_run(self, turn: Turn) -> Any:
        """Create the turn's engine; raise one of `refusals` to refuse the turn."""
        if not self.target.claim(self.user.user_id, turn.thread_id, turn.run_id):
            raise ThreadRefused(f"thread_id={turn.thread_id!r} belongs to another user")
        factory = self.target.factory
        # FILL IN (3/6): create this turn's engine through your factory, for this user, thread
        # and run (a refused engine raises one of BACKEND_REFUSALS). Example:
        #     return factory.create_engine(self.user.user_id, turn.thread_id, turn.run_id)
        raise NotImplementedError(f"FILL IN (3/6): create the engine with {factory!r}")

    async def drive(self, run: Any, turn: Turn) -> TurnOutcome:
        """Run the turn's plan on its engine until the terminal event."""
        # FILL IN (4/6): run the plan through your engine's own emitter and tool code (so that
        # routing and the context tools run under stay your backend's), then give the engine
        # back. Example:
        #     try:
        #         return await run_plan(turn, emit=run.emit, call_tool=run.call_tool)
        #     finally:
        #         self.target.factory.release(run)
        raise NotImplementedError(f"FILL IN (4/6): drive {run!r} with run_plan")

    def run_roots(self, run: Any) -> Mapping[str, object]:
        """This user's live objects of one run, by root key (see docs/targets.md, "Roots")."""
        # FILL IN (5/6): the engine and what it owns for this user alone: `engine`, `context`,
        # `agents`, `tool_dispatcher`, `emitter`, `registry`. Example:
        #     return {"engine": run, "context": run.context, "registry": run.registry}
        return {"engine": run}

    async def disconnect(self) -> None:
        self.target.connections.unregister(self)


class BackendTarget(KitTarget):
    """Your backend as the harness's Target."""

    name = "my-backend"

    def __init__(self) -> None:
        super().__init__()
        self.factory: Any = None

    async def start(self) -> None:
        await super().start()
        # FILL IN (2/6): build your backend's factory, handing it `self.connections` as its
        # connection manager / notifier (it has send_to_user, send_to_thread, send_to_run and
        # deliver(message)). Example:
        #     self.factory = AgentFactory(notifier=self.connections)
        raise NotImplementedError("FILL IN (2/6): build the factory in start()")

    async def stop(self) -> None:
        self.factory = None
        await super().stop()

    async def open_session(self, user: SimUser) -> BackendSession:
        return BackendSession(self, user, self.next_connection_id())

    def shared_roots(self) -> Mapping[str, object]:
        """What is meant to be shared by every user: walks stop there."""
        # FILL IN (6/6): the factory and the infrastructure meant to be shared (immutable
        # registries, pools). Example:
        #     return {"factory": self.factory}
        raise NotImplementedError("FILL IN (6/6): list the shared roots")

    def limits(self) -> dict[str, int]:
        """Per-user limits the backend enforces (limit_pressure checks them); {} if none."""
        # Optional: the limits your factory enforces, e.g. {"engines_per_user": 2}.
        return {}
'''


@dataclass(frozen=True, slots=True)
class WrittenSkeleton:
    """Where :func:`write_skeleton` wrote, and the ``--target`` spec of the adapter it holds.

    Example:
        >>> WrittenSkeleton(path=Path("a.py"), spec="a:BackendTarget").spec
        'a:BackendTarget'
    """

    path: Path
    spec: str


def write_skeleton(path: Path, *, force: bool = False) -> WrittenSkeleton:
    """Write the adapter skeleton (``harness init``) to ``path``.

    Args:
        path: a ``.py`` file (its stem names the module), or a directory to write
            ``isolation_target.py`` into (created if missing).
        force: overwrite an existing file.

    Raises:
        UsageError: the file exists and ``force`` is False.

    Example:
        >>> import tempfile
        >>> write_skeleton(Path(tempfile.mkdtemp())).spec
        'isolation_target:BackendTarget'
    """
    target = path if path.suffix == ".py" else path / f"{SKELETON_MODULE}.py"
    if target.exists() and not force:
        raise UsageError(
            f"path={str(target)!r} already exists: harness init does not overwrite it. "
            "Give another path, or --force to replace it."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    module = target.stem
    text = SKELETON if module == SKELETON_MODULE else SKELETON.replace(SKELETON_MODULE, module)
    target.write_text(text, encoding="utf-8")
    return WrittenSkeleton(path=target, spec=f"{module}:{SKELETON_CLASS}")
