"""Who every Locust user is: a simulated user named by the run's parameters alone.

A distributed run cannot number its users globally: Locust's master hands each worker a count,
and a worker only knows its own ``worker_index`` and the order in which it spawned users. So a
worker's ``sequence``-th user is user ``sequence % block`` of a block scenario built with
:func:`harness.scenarios.build` from (scenario, seed, ``<salt>-w<worker>-b<block number>``,
``block`` users). The whole population of a run is therefore known from (scenario, seed, salt,
block size) and how many users each worker spawned, and each block is replayable on one machine
with ``harness run --users <block> --salt <block salt>``: the same turns and canaries.
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from harness.errors import UsageError
from harness.model import Scenario, SessionPlan, SimUser
from harness.runner import replay_command
from harness.scenarios import build

__all__ = ["Population", "PopulationSpec", "UserSlot"]


@dataclass(frozen=True, slots=True)
class PopulationSpec:
    """The run's parameters that fix every simulated user of every worker.

    Args:
        scenario: a registered scenario name.
        seed: the scenario seed.
        salt: mixed into every block's seed (fresh ids against a server that outlives runs).
        block: simulated users per block scenario.
        turn_timeout: seconds a turn may take; None keeps the scenario's own.
    """

    scenario: str
    seed: int
    salt: str = ""
    block: int = 10
    turn_timeout: float | None = None

    def __post_init__(self) -> None:
        if isinstance(self.block, bool) or not isinstance(self.block, int) or self.block < 1:
            raise UsageError(
                f"block={self.block!r} (type {type(self.block).__name__}) must be an int >= 1: "
                "the number of simulated users per block scenario. Pass e.g. "
                "--harness-block 10."
            )
        if self.turn_timeout is not None and not self.turn_timeout > 0:
            raise UsageError(
                f"turn_timeout={self.turn_timeout!r} must be a number of seconds > 0. "
                "Pass e.g. --harness-turn-timeout 5."
            )

    def block_salt(self, worker: int, block: int) -> str:
        """The salt of block ``block`` of worker ``worker``: ``<salt>-w<worker>-b<block>``."""
        prefix = f"{self.salt}-" if self.salt else ""
        return f"{prefix}w{worker}-b{block}"

    def block_replay(self, worker: int, block: int, target: str) -> str:
        """The ``harness run`` command that runs block ``block`` of ``worker`` on one machine."""
        return replay_command(
            self.scenario,
            seed=self.seed,
            strategy="random",
            target=target,
            users=self.block,
            salt=self.block_salt(worker, block),
        )

    def locust_replay(self, workers: Sequence[tuple[int, int]], locustfile: str, host: str) -> str:
        """The Locust command that spawns the same population again.

        Args:
            workers: ``(worker_index, users spawned)`` of each worker.
            locustfile: the locustfile the run used.
            host: the target URL.
        """
        total = sum(count for _, count in workers)
        parts = [
            "locust",
            "-f",
            locustfile,
            "--host",
            host,
            "--headless",
            "--master",
            f"--expect-workers={len(workers)}",
            f"-u={total}",
            f"-r={total}",
            f"--harness-scenario={self.scenario}",
            f"--harness-seed={self.seed}",
            f"--harness-block={self.block}",
        ]
        if self.salt:
            parts.append(f"--harness-salt={self.salt}")
        if self.turn_timeout is not None:
            parts.append(f"--harness-turn-timeout={self.turn_timeout}")
        spawned = ",".join(f"w{worker}:{count}" for worker, count in sorted(workers))
        return " ".join(shlex.quote(part) for part in parts) + f"  # users per worker {spawned}"


@dataclass(frozen=True, slots=True)
class UserSlot:
    """One simulated user of a distributed run and where it comes from."""

    worker: int
    sequence: int
    block: int
    index: int
    salt: str
    user: SimUser
    plans: tuple[SessionPlan, ...]
    turn_timeout: float

    @property
    def prefix(self) -> str:
        """What makes this block's session ids unique across the run: ``w<worker>.b<block>.``."""
        return f"w{self.worker}.b{self.block}."


class Population:
    """Builds (and caches) the block scenarios of one :class:`PopulationSpec`.

    Example:
        >>> population = Population(PopulationSpec("golden_path", seed=0, block=4))
        >>> population.slot(worker=1, sequence=5).salt
        'w1-b1'
    """

    def __init__(self, spec: PopulationSpec) -> None:
        self.spec = spec
        self._blocks: dict[tuple[int, int], Scenario] = {}

    def block_scenario(self, worker: int, block: int) -> Scenario:
        """Block ``block`` of ``worker``: the scenario ``harness run`` builds for the same salt."""
        key = (worker, block)
        scenario = self._blocks.get(key)
        if scenario is None:
            spec = self.spec
            scenario = build(spec.scenario, spec.seed, spec.block, salt=spec.block_salt(*key))
            if spec.turn_timeout is not None:
                scenario = dataclasses.replace(scenario, turn_timeout=spec.turn_timeout)
            self._blocks[key] = scenario
        return scenario

    def slot(self, worker: int, sequence: int) -> UserSlot:
        """The ``sequence``-th user (from 0) that worker ``worker`` spawns.

        Raises:
            UsageError: a negative worker index or sequence.
        """
        if worker < 0 or sequence < 0:
            raise UsageError(
                f"worker={worker!r}, sequence={sequence!r}: both must be >= 0 (a worker's index "
                "comes from the Locust master; run the locustfile with --master and --worker)."
            )
        block, index = divmod(sequence, self.spec.block)
        scenario = self.block_scenario(worker, block)
        user = scenario.users[index]
        return UserSlot(
            worker=worker,
            sequence=sequence,
            block=block,
            index=index,
            salt=self.spec.block_salt(worker, block),
            user=user,
            plans=tuple(p for p in scenario.sessions if p.user_id == user.user_id),
            turn_timeout=scenario.turn_timeout,
        )
