"""The Switchyard orchestrator: tenants, jobs, admission and the per-user job limit.

The :class:`Orchestrator` is the deployment's front: it keeps a :class:`Tenant` per connected
user (their :class:`~.relay.Relay` and running jobs), admits a chat turn as a :class:`Job`
(validated :class:`~.models.ChatRequest`, thread ownership checked in the database, at most
``jobs_per_user`` jobs of one user at once, across all their connections), builds the job's
agent, outlet and working memory, runs it, and sends its terminal event.

Bugs here: ``shared-agent`` (one agent instance per kind for the whole deployment),
``park-on-close`` (a tenant whose last connection closes is parked in a class-level cache "for
a fast resume", with its last job), and ``tracker-records`` (jobs keep the metrics tracker's
activity window).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from .agents import Agent, CompactHooks, LifecycleHooks, PromptLine, WorkingMemory
from .catalog import Catalog, build_catalog
from .models import ChatRequest, JobResult, UserCard
from .relay import Connection, Outlet, Receive, Switchboard
from .storage import MessageStore, NotOwner
from .telemetry import LOG, METRICS, ActivityRecord
from .toolkit import Identity, Toolkit
from .upstream import Upstream

__all__ = ["BUGS", "JOBS_PER_USER", "Job", "Orchestrator", "Refused", "Tenant", "forget_resumable"]

#: How many jobs one user may run at once, across all their connections.
JOBS_PER_USER = 2
#: Catalog fragments rendered into each job's prompt.
PROMPT_LINES = 64

#: The bug switches of the whole backend; none is on by default.
BUGS: frozenset[str] = frozenset(
    {
        "shared-agent",  # one agent instance per kind, re-bound for every job
        "lost-lifecycle",  # hooks renamed, the AttributeError swallowed: no tool events
        "tracker-records",  # the metrics tracker keeps who ran what; jobs hold its window
        "park-on-close",  # a closed tenant is parked in a class-level cache with its last job
    }
)


class Refused(Exception):
    """A turn was refused: a limit, validation, or a thread owned by another user."""


#: Tenants whose last connection closed, kept "for a fast resume" (bug park-on-close).
_RESUMABLE: dict[str, Tenant] = {}


def forget_resumable() -> None:
    """Empty the resume cache (a new deployment in this process)."""
    _RESUMABLE.clear()


class Tenant:
    """One connected user: who they are and their running jobs."""

    def __init__(self, card: UserCard) -> None:
        self.card = card
        self.connections = 0
        self.jobs: dict[str, Job] = {}
        self.last_job: Job | None = None
        self.turns = 0

    @property
    def user_id(self) -> str:
        return self.card.user_id

    def park(self) -> None:
        """Keep this tenant for a fast resume (bug park-on-close)."""
        _RESUMABLE[self.user_id] = self


class Job:
    """One admitted chat turn of one user."""

    def __init__(
        self,
        tenant: Tenant,
        request: ChatRequest,
        agent: Agent,
        outlet: Outlet,
        memory: WorkingMemory,
    ) -> None:
        self.tenant = tenant
        self.request = request
        self.identity = outlet.identity
        self.agent = agent
        self.outlet = outlet
        self.memory = memory
        self.result: JobResult | None = None
        self.activity: list[ActivityRecord] | None = None
        self.load_hint = 0.0

    @property
    def run_id(self) -> str:
        return self.request.run_id


class Orchestrator:
    """The deployment: shared infrastructure and the tenants of the connected users."""

    def __init__(self, bugs: Iterable[str] = (), *, jobs_per_user: int = JOBS_PER_USER) -> None:
        self.bugs = frozenset(bugs)
        self.catalog: Catalog = build_catalog()
        self.catalog.settings.set("limits.jobs_per_user", jobs_per_user)
        self.store = MessageStore()
        self.upstream = Upstream()
        self.toolkit = Toolkit(self.upstream)
        self.switchboard = Switchboard()
        self.tenants: dict[str, Tenant] = {}
        self._shared_agents: dict[str, Agent] = {}  # bug shared-agent only
        self._connections = 0

    @property
    def jobs_per_user(self) -> int:
        value = self.catalog.settings.get("limits.jobs_per_user", 2)
        return value if isinstance(value, int) else 2

    async def shutdown(self) -> None:
        await self.upstream.aclose()
        self.store.dispose()
        self.tenants.clear()
        self._shared_agents.clear()

    # ------------------------------------------------------------------ connections
    def connect(self, card: UserCard, receive: Receive) -> Connection:
        tenant = self.tenants.get(card.user_id)
        if tenant is None:
            tenant = self.tenants[card.user_id] = Tenant(card)
        self._connections += 1
        connection = Connection(card.user_id, f"c{self._connections:05d}", receive)
        self.switchboard.attach(connection)
        tenant.connections += 1
        return connection

    def disconnect(self, connection: Connection) -> None:
        tenant = self.tenants.get(connection.user_id)
        if tenant is None:
            return
        self.switchboard.detach(connection)
        tenant.connections -= 1
        self._retire_if_idle(tenant)

    def _retire_if_idle(self, tenant: Tenant) -> None:
        if tenant.connections or tenant.jobs:
            return
        del self.tenants[tenant.user_id]
        if "park-on-close" in self.bugs:
            tenant.park()
        else:
            tenant.last_job = None

    # ------------------------------------------------------------------ admission
    def admit(self, user_id: str, raw: Mapping[str, Any]) -> Job:
        """Validate and admit one turn (synchronous: nothing runs between check and count).

        Raises:
            Refused: invalid request, thread owned by another user, or over the limit.
        """
        tenant = self.tenants.get(user_id)
        if tenant is None:
            raise Refused("no open connection for this user")
        try:
            request = ChatRequest.model_validate(raw)
        except ValidationError as exc:
            raise Refused(f"invalid request: {exc.error_count()} error(s)") from exc
        if len(tenant.jobs) >= self.jobs_per_user:
            raise Refused(f"at most {self.jobs_per_user} jobs at once per user")
        if request.run_id in tenant.jobs:
            raise Refused(f"run_id={request.run_id!r} is already running")
        agent = self._agent_for(request.agent_kind)
        try:
            with self.store.unit() as session:
                self.store.claim(session, request.thread_id, user_id)
                self.store.append(
                    session, request.thread_id, request.run_id, "user", request.content
                )
                history = self.store.history(session, request.thread_id, limit=8)
        except NotOwner as exc:
            raise Refused(str(exc)) from exc
        identity = Identity(user_id, request.thread_id, request.run_id)
        outlet = Outlet(identity, self.switchboard)
        memory = self._memory_for(tenant.card, request, history)
        agent.bind(identity, tenant.card.email, outlet, memory)
        job = Job(tenant, request, agent, outlet, memory)
        if "tracker-records" in self.bugs:
            job.activity = METRICS.window  # "recent activity for the load hint"
        tenant.jobs[request.run_id] = job
        tenant.turns += 1
        METRICS.job_started()
        return job

    def _memory_for(
        self, card: UserCard, request: ChatRequest, history: Sequence[Any]
    ) -> WorkingMemory:
        memory = WorkingMemory()
        for fragment in self.catalog.fragments_for(request.content, PROMPT_LINES):
            rendered = f"{fragment.text} Address {card.display_name} by name."
            memory.prompt.append(PromptLine(fragment, rendered))
        memory.history.extend((m.role, m.body) for m in history)
        return memory

    def _agent_for(self, kind: str) -> Agent:
        agent_class = Agent.directory.get(kind)
        if agent_class is None:
            raise Refused(f"agent_kind={kind!r} is not one of {sorted(Agent.directory)}")
        hooks = CompactHooks() if "lost-lifecycle" in self.bugs else LifecycleHooks()
        if "shared-agent" in self.bugs:
            agent = self._shared_agents.get(kind)
            if agent is None:  # "agents are expensive to build: keep one warm per kind"
                agent = self._shared_agents[kind] = agent_class(
                    self.toolkit, self.upstream, self.catalog, hooks
                )
            return agent
        return agent_class(self.toolkit, self.upstream, self.catalog, hooks)

    # ------------------------------------------------------------------ running
    async def execute(self, job: Job) -> JobResult:
        """Run an admitted job to its terminal event; always releases its slot."""
        request = job.request
        status = "error"
        try:
            if job.activity is not None:
                job.load_hint = len(job.activity) / (1 + METRICS.jobs_started)
            result = await job.agent.run(request.content, request.plan)
            job.result = result
            self._record_answer(job, result)
            if result.status == "completed":
                job.outlet.send("agent_completed", {"result": result.as_result()})
            else:
                job.outlet.send("agent_error", {"error": result.error})
            status = result.status
            return result
        except asyncio.CancelledError:
            job.outlet.send("agent_error", {"error": "cancelled"})
            status = "cancelled"
            raise
        except Exception as exc:
            LOG.error("job failed: %s", type(exc).__name__)  # no text: it may quote the user
            job.outlet.send("agent_error", {"error": f"internal error: {type(exc).__name__}"})
            return JobResult(status="error", error=f"internal error: {type(exc).__name__}")
        finally:
            self._release(job, status)

    def _record_answer(self, job: Job, result: JobResult) -> None:
        with self.store.unit() as session:
            body = result.response if result.status == "completed" else f"error: {result.error}"
            self.store.append(session, job.request.thread_id, job.run_id, "assistant", body)

    def _release(self, job: Job, status: str) -> None:
        tenant = job.tenant
        tenant.jobs.pop(job.run_id, None)
        tenant.last_job = job
        METRICS.job_finished(
            status,
            len(job.request.plan),
            user_id=tenant.user_id,
            run_id=job.run_id,
            thread_id=job.request.thread_id,
            message=job.request.content,
        )
        LOG.info(
            "job finished status=%s steps=%d tools=%d memory=%d",
            status,
            len(job.request.plan),
            sum(1 for s in job.request.plan if s.step == "tool"),
            job.memory.size(),
        )
        if self.tenants.get(tenant.user_id) is tenant:
            self._retire_if_idle(tenant)
        elif "park-on-close" not in self.bugs:
            tenant.last_job = None
