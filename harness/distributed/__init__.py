"""A harness scenario on Locust's master and workers, judged by the same detectors.

Each Locust user is one simulated user of a scenario over the wire protocol; each worker builds
its users from the run's parameters (:class:`PopulationSpec`: scenario, seed, salt, block size)
and its own index and spawn order, so the whole population is known from the run's parameters.
At test stop the master collects every worker's records, builds one Trace, runs the detectors
and writes the same ``findings.json`` and ``report.html`` as ``harness run``.
docs/distributed.md explains how to run it.

Importing this package does not import Locust (which monkey-patches the process):
:class:`HarnessUser` is loaded on first use, from a locustfile::

    from harness.distributed import HarnessUser

    class StagingUser(HarnessUser):
        pass
"""

from __future__ import annotations

import importlib as _importlib
import typing as _typing

from harness.distributed._assembly import REPORT_SCHEMA as REPORT_SCHEMA
from harness.distributed._assembly import WorkerReport as WorkerReport
from harness.distributed._assembly import assemble as assemble
from harness.distributed._assembly import report_data as report_data
from harness.distributed._assembly import report_from_data as report_from_data
from harness.distributed._connection import WireConnection as WireConnection
from harness.distributed._population import Population as Population
from harness.distributed._population import PopulationSpec as PopulationSpec
from harness.distributed._population import UserSlot as UserSlot
from harness.distributed._user_run import UserJournal as UserJournal
from harness.distributed._user_run import UserRecord as UserRecord
from harness.distributed._user_run import drive_user as drive_user

if _typing.TYPE_CHECKING:
    from harness.distributed._locust import HarnessUser as HarnessUser

__all__ = [
    "HarnessUser",
    "Population",
    "PopulationSpec",
    "UserSlot",
    "WireConnection",
    "UserJournal",
    "UserRecord",
    "drive_user",
    "REPORT_SCHEMA",
    "WorkerReport",
    "assemble",
    "report_data",
    "report_from_data",
]


def __getattr__(name: str) -> object:
    # Locust patches the process for gevent when imported: only a locustfile should pay that.
    if name == "HarnessUser":
        return _importlib.import_module("harness.distributed._locust").HarnessUser
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
