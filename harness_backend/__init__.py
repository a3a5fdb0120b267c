"""The reference system under test: a correct per-user execution-engine factory.

Everything public is re-exported here; the modules are the implementation. The backend never
imports ``harness``. See ``harness_backend/README.md`` for the API.
"""

from .agents import AgentRegistry as AgentRegistry
from .agents import AgentRequest as AgentRequest
from .agents import ScriptedAgent as ScriptedAgent
from .agents import default_agents as default_agents
from .clock import Clock as Clock
from .clock import LoopClock as LoopClock
from .clock import ManualClock as ManualClock
from .connections import Connection as Connection
from .connections import ConnectionRegistry as ConnectionRegistry
from .connections import ConnectionStatistics as ConnectionStatistics
from .connections import DeliveryReport as DeliveryReport
from .context import PLACEHOLDER_IDS as PLACEHOLDER_IDS
from .context import UserExecutionContext as UserExecutionContext
from .emitter import EVENT_TYPES as EVENT_TYPES
from .emitter import EmitterStatistics as EmitterStatistics
from .emitter import UserEventEmitter as UserEventEmitter
from .engine import EngineStatistics as EngineStatistics
from .engine import UserExecutionEngine as UserExecutionEngine
from .errors import AgentFailedError as AgentFailedError
from .errors import BackendError as BackendError
from .errors import DeliveryError as DeliveryError
from .errors import DuplicateRunError as DuplicateRunError
from .errors import EngineClosedError as EngineClosedError
from .errors import EngineLimitExceeded as EngineLimitExceeded
from .errors import FactoryClosedError as FactoryClosedError
from .errors import InvalidContextError as InvalidContextError
from .errors import InvalidRequestError as InvalidRequestError
from .errors import MissingNotifierError as MissingNotifierError
from .errors import ToolError as ToolError
from .errors import UnknownAgentError as UnknownAgentError
from .errors import UnknownFaultError as UnknownFaultError
from .errors import UserMismatchError as UserMismatchError
from .execution_registry import AgentExecutionRegistry as AgentExecutionRegistry
from .execution_registry import RunRecord as RunRecord
from .factory import ExecutionEngineFactory as ExecutionEngineFactory
from .factory import FactoryMetrics as FactoryMetrics
from .faults import FAULTS as FAULTS
from .faults import FaultSet as FaultSet
from .tools import ToolDefinition as ToolDefinition
from .tools import ToolDispatcher as ToolDispatcher
from .tools import ToolRegistry as ToolRegistry
from .tools import default_tools as default_tools

__all__ = [
    # factory and engine
    "ExecutionEngineFactory",
    "FactoryMetrics",
    "UserExecutionEngine",
    "EngineStatistics",
    # contexts
    "UserExecutionContext",
    "PLACEHOLDER_IDS",
    # events and connections
    "EVENT_TYPES",
    "Connection",
    "ConnectionRegistry",
    "ConnectionStatistics",
    "DeliveryReport",
    "UserEventEmitter",
    "EmitterStatistics",
    # agents, tools, runs
    "AgentRegistry",
    "AgentRequest",
    "ScriptedAgent",
    "default_agents",
    "ToolDefinition",
    "ToolDispatcher",
    "ToolRegistry",
    "default_tools",
    "AgentExecutionRegistry",
    "RunRecord",
    # time
    "Clock",
    "LoopClock",
    "ManualClock",
    # faults
    "FAULTS",
    "FaultSet",
    # errors
    "BackendError",
    "AgentFailedError",
    "DeliveryError",
    "DuplicateRunError",
    "EngineClosedError",
    "EngineLimitExceeded",
    "FactoryClosedError",
    "InvalidContextError",
    "InvalidRequestError",
    "MissingNotifierError",
    "ToolError",
    "UnknownAgentError",
    "UnknownFaultError",
    "UserMismatchError",
]
