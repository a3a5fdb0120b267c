"""Running a Scenario against a Target: the public face of the run step.

:func:`run` drives one scenario under the seeded scheduler (or the stock loop for a remote
target), builds its Trace once and runs the detectors; :func:`explore` and
:func:`shrink_scenario` search over runs. The driver (:mod:`harness.runner._driver`) announces a
run's lifecycle to listeners: the trace recorder and the observer.

Example:
    >>> from harness.runner import run
    >>> from harness.scenarios import build
    >>> result = run("reference", build("golden_path", seed=0, users=4), strategy="random")
    >>> result.findings
    ()
"""

from __future__ import annotations

from harness.runner._bounds import DEFAULT_BLOCK_LIMIT as DEFAULT_BLOCK_LIMIT
from harness.runner._bounds import DEFAULT_CALL_TIMEOUT as DEFAULT_CALL_TIMEOUT
from harness.runner._bounds import DEFAULT_CONNECT_RATE as DEFAULT_CONNECT_RATE
from harness.runner._bounds import AdapterCallTimeout as AdapterCallTimeout
from harness.runner._bounds import Bounds as Bounds
from harness.runner._bounds import sync_call as sync_call
from harness.runner._copies import owes_copies as owes_copies
from harness.runner._driver import RunProgress as RunProgress
from harness.runner._run import derive_target_spec as derive_target_spec
from harness.runner._run import estimate_steps as estimate_steps
from harness.runner._run import loop_span as loop_span
from harness.runner._run import replay_command as replay_command
from harness.runner._run import run as run
from harness.runner._run import run_async as run_async
from harness.runner._run import tally as tally
from harness.runner._search import explore as explore
from harness.runner._search import shrink_scenario as shrink_scenario

__all__ = [
    "DEFAULT_BLOCK_LIMIT",
    "DEFAULT_CALL_TIMEOUT",
    "DEFAULT_CONNECT_RATE",
    "AdapterCallTimeout",
    "Bounds",
    "RunProgress",
    "derive_target_spec",
    "estimate_steps",
    "explore",
    "loop_span",
    "owes_copies",
    "replay_command",
    "run",
    "run_async",
    "tally",
    "shrink_scenario",
    "sync_call",
]
