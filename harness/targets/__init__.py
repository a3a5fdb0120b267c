"""Targets: loading one from ``--target``, wire parsing, and the built-in adapters.

``reference`` (the embedded backend, in process, with switchable faults) lives in
:mod:`harness.targets.reference`; any server speaking the wire protocol in
:mod:`harness.targets.websocket`. A user's own adapter is loaded from ``module:attr``.
"""

from __future__ import annotations

from harness.targets._loading import TargetInfo as TargetInfo
from harness.targets._loading import describe as describe
from harness.targets._loading import load_target as load_target
from harness.targets._local_server import local_server as local_server
from harness.targets._wire import event_from_message as event_from_message

__all__ = ["TargetInfo", "describe", "event_from_message", "load_target", "local_server"]
