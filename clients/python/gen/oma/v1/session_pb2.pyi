from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from oma.v1 import sandbox_pb2 as _sandbox_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

CONTEXT_STRATEGY_CLEAR: ContextStrategy
CONTEXT_STRATEGY_COMPACT: ContextStrategy
CONTEXT_STRATEGY_NONE: ContextStrategy
CONTEXT_STRATEGY_UNSPECIFIED: ContextStrategy
DESCRIPTOR: _descriptor.FileDescriptor
SESSION_STATUS_IDLE: SessionStatus
SESSION_STATUS_RESCHEDULING: SessionStatus
SESSION_STATUS_RUNNING: SessionStatus
SESSION_STATUS_TERMINATED: SessionStatus
SESSION_STATUS_UNSPECIFIED: SessionStatus
STOP_REASON_END_TURN: StopReason
STOP_REASON_ERROR: StopReason
STOP_REASON_INTERRUPTED: StopReason
STOP_REASON_MAX_STEPS: StopReason
STOP_REASON_MAX_TOKENS: StopReason
STOP_REASON_REQUIRES_ACTION: StopReason
STOP_REASON_RETRIES_EXHAUSTED: StopReason
STOP_REASON_TERMINATED_BY_CLIENT: StopReason
STOP_REASON_UNSPECIFIED: StopReason
TOOL_KIND_CUSTOM: ToolKind
TOOL_KIND_HARNESS: ToolKind
TOOL_KIND_MCP: ToolKind
TOOL_KIND_SANDBOX: ToolKind
TOOL_KIND_UNSPECIFIED: ToolKind

class AgentConfig(_message.Message):
    __slots__ = ["context", "max_tokens", "max_turn_steps", "mcp_servers", "model", "sandbox", "system_prompt", "tools"]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    MAX_TURN_STEPS_FIELD_NUMBER: _ClassVar[int]
    MCP_SERVERS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SANDBOX_FIELD_NUMBER: _ClassVar[int]
    SYSTEM_PROMPT_FIELD_NUMBER: _ClassVar[int]
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    context: ContextManagement
    max_tokens: int
    max_turn_steps: int
    mcp_servers: _containers.RepeatedCompositeFieldContainer[McpServer]
    model: str
    sandbox: _sandbox_pb2.SandboxResources
    system_prompt: str
    tools: _containers.RepeatedCompositeFieldContainer[AgentTool]
    def __init__(self, model: _Optional[str] = ..., system_prompt: _Optional[str] = ..., tools: _Optional[_Iterable[_Union[AgentTool, _Mapping]]] = ..., max_tokens: _Optional[int] = ..., sandbox: _Optional[_Union[_sandbox_pb2.SandboxResources, _Mapping]] = ..., max_turn_steps: _Optional[int] = ..., context: _Optional[_Union[ContextManagement, _Mapping]] = ..., mcp_servers: _Optional[_Iterable[_Union[McpServer, _Mapping]]] = ...) -> None: ...

class AgentTool(_message.Message):
    __slots__ = ["description", "input_schema", "kind", "name", "requires_confirmation"]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    INPUT_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REQUIRES_CONFIRMATION_FIELD_NUMBER: _ClassVar[int]
    description: str
    input_schema: _struct_pb2.Struct
    kind: ToolKind
    name: str
    requires_confirmation: bool
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[_Union[ToolKind, str]] = ..., description: _Optional[str] = ..., input_schema: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., requires_confirmation: bool = ...) -> None: ...

class ContextManagement(_message.Message):
    __slots__ = ["max_input_tokens", "strategy", "target_input_tokens"]
    MAX_INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    TARGET_INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    max_input_tokens: int
    strategy: ContextStrategy
    target_input_tokens: int
    def __init__(self, strategy: _Optional[_Union[ContextStrategy, str]] = ..., max_input_tokens: _Optional[int] = ..., target_input_tokens: _Optional[int] = ...) -> None: ...

class Lease(_message.Message):
    __slots__ = ["epoch", "expire_time", "holder"]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    HOLDER_FIELD_NUMBER: _ClassVar[int]
    epoch: int
    expire_time: _timestamp_pb2.Timestamp
    holder: str
    def __init__(self, epoch: _Optional[int] = ..., holder: _Optional[str] = ..., expire_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class McpServer(_message.Message):
    __slots__ = ["credential_id", "name", "url"]
    CREDENTIAL_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    credential_id: str
    name: str
    url: str
    def __init__(self, name: _Optional[str] = ..., url: _Optional[str] = ..., credential_id: _Optional[str] = ...) -> None: ...

class Session(_message.Message):
    __slots__ = ["agent", "create_time", "head_seq", "labels", "lease", "session_id", "status", "stop_reason", "tenant", "update_time"]
    class LabelsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    AGENT_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    HEAD_SEQ_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    LEASE_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STOP_REASON_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    agent: AgentConfig
    create_time: _timestamp_pb2.Timestamp
    head_seq: int
    labels: _containers.ScalarMap[str, str]
    lease: Lease
    session_id: str
    status: SessionStatus
    stop_reason: StopReason
    tenant: str
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, session_id: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., agent: _Optional[_Union[AgentConfig, _Mapping]] = ..., status: _Optional[_Union[SessionStatus, str]] = ..., head_seq: _Optional[int] = ..., lease: _Optional[_Union[Lease, _Mapping]] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., stop_reason: _Optional[_Union[StopReason, str]] = ..., tenant: _Optional[str] = ...) -> None: ...

class SessionStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class StopReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class ToolKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class ContextStrategy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
