"""The adapter kit: the bookkeeping every in-process adapter repeats, done once.

Build an adapter for a backend of your own on these (docs/targets.md walks through one):

* :class:`RecordingSession`: events as the connection received them, ``on_event``, live runs
  as ``roots()``, ``burst``, refusals as ``rejected``, references dropped on ``close()``;
* :class:`KitTarget` and :class:`ConnectionRegistry`: a connection manager that delivers the
  backend's messages to the tabs of the user who owns the thread or run, declared as adapter
  scaffolding;
* :func:`run_plan` and :func:`standard_tool`: a scripted agent's plan, run through the
  backend's emitter and tool code;
* :func:`rejected`, :func:`completed`, :func:`errored`: outcomes built by keyword;
* :func:`check_target` and :func:`conformance`: the contract, rule by rule
  (``harness check-target``); :func:`write_skeleton` (``harness init``).
"""

from harness.kit._conformance import RuleResult as RuleResult
from harness.kit._conformance import check_target as check_target
from harness.kit._conformance import conformance as conformance
from harness.kit._connections import ConnectionRegistry as ConnectionRegistry
from harness.kit._connections import Owners as Owners
from harness.kit._connections import Receiver as Receiver
from harness.kit._outcomes import completed as completed
from harness.kit._outcomes import errored as errored
from harness.kit._outcomes import finished as finished
from harness.kit._outcomes import is_refusal as is_refusal
from harness.kit._outcomes import rejected as rejected
from harness.kit._plans import Emit as Emit
from harness.kit._plans import ToolCall as ToolCall
from harness.kit._plans import ToolFailed as ToolFailed
from harness.kit._plans import echo_result as echo_result
from harness.kit._plans import run_plan as run_plan
from harness.kit._plans import standard_tool as standard_tool
from harness.kit._session import RecordingSession as RecordingSession
from harness.kit._skeleton import WrittenSkeleton as WrittenSkeleton
from harness.kit._skeleton import write_skeleton as write_skeleton
from harness.kit._target import KitTarget as KitTarget

__all__ = [
    "ConnectionRegistry",
    "Emit",
    "KitTarget",
    "Owners",
    "Receiver",
    "RecordingSession",
    "RuleResult",
    "ToolCall",
    "ToolFailed",
    "WrittenSkeleton",
    "check_target",
    "completed",
    "conformance",
    "echo_result",
    "errored",
    "finished",
    "is_refusal",
    "rejected",
    "run_plan",
    "standard_tool",
    "write_skeleton",
]
