from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from oma.v1 import content_pb2 as _content_pb2
from oma.v1 import session_pb2 as _session_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

CONFIRMATION_DECISION_ALLOW: ConfirmationDecision
CONFIRMATION_DECISION_DENY: ConfirmationDecision
CONFIRMATION_DECISION_UNSPECIFIED: ConfirmationDecision
DESCRIPTOR: _descriptor.FileDescriptor
LEASE_END_REASON_EXPIRED: LeaseEndReason
LEASE_END_REASON_RELEASED: LeaseEndReason
LEASE_END_REASON_UNSPECIFIED: LeaseEndReason

class AgentMessage(_message.Message):
    __slots__ = ["content", "model_message_id"]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    MODEL_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    content: _containers.RepeatedCompositeFieldContainer[_content_pb2.ContentBlock]
    model_message_id: str
    def __init__(self, content: _Optional[_Iterable[_Union[_content_pb2.ContentBlock, _Mapping]]] = ..., model_message_id: _Optional[str] = ...) -> None: ...

class AgentThinking(_message.Message):
    __slots__ = ["signature", "thinking"]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    THINKING_FIELD_NUMBER: _ClassVar[int]
    signature: str
    thinking: str
    def __init__(self, thinking: _Optional[str] = ..., signature: _Optional[str] = ...) -> None: ...

class ContextCompacted(_message.Message):
    __slots__ = ["duration", "strategy", "summary", "through_seq", "tokens_after", "tokens_before"]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    THROUGH_SEQ_FIELD_NUMBER: _ClassVar[int]
    TOKENS_AFTER_FIELD_NUMBER: _ClassVar[int]
    TOKENS_BEFORE_FIELD_NUMBER: _ClassVar[int]
    duration: _duration_pb2.Duration
    strategy: _session_pb2.ContextStrategy
    summary: str
    through_seq: int
    tokens_after: int
    tokens_before: int
    def __init__(self, through_seq: _Optional[int] = ..., summary: _Optional[str] = ..., strategy: _Optional[_Union[_session_pb2.ContextStrategy, str]] = ..., tokens_before: _Optional[int] = ..., tokens_after: _Optional[int] = ..., duration: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class CustomEvent(_message.Message):
    __slots__ = ["data", "type"]
    DATA_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    data: _struct_pb2.Struct
    type: str
    def __init__(self, type: _Optional[str] = ..., data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class CustomToolResult(_message.Message):
    __slots__ = ["is_error", "output", "tool_use_id"]
    IS_ERROR_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    TOOL_USE_ID_FIELD_NUMBER: _ClassVar[int]
    is_error: bool
    output: str
    tool_use_id: str
    def __init__(self, tool_use_id: _Optional[str] = ..., output: _Optional[str] = ..., is_error: bool = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ["agent_message", "agent_thinking", "context_compacted", "create_time", "custom", "custom_tool_result", "error", "harness_started", "id", "model_usage", "sandbox_provisioned", "seq", "status_changed", "tool_confirmation", "tool_result", "tool_use", "user_interrupt", "user_message"]
    AGENT_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    AGENT_THINKING_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_COMPACTED_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    CUSTOM_FIELD_NUMBER: _ClassVar[int]
    CUSTOM_TOOL_RESULT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    HARNESS_STARTED_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_USAGE_FIELD_NUMBER: _ClassVar[int]
    SANDBOX_PROVISIONED_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    STATUS_CHANGED_FIELD_NUMBER: _ClassVar[int]
    TOOL_CONFIRMATION_FIELD_NUMBER: _ClassVar[int]
    TOOL_RESULT_FIELD_NUMBER: _ClassVar[int]
    TOOL_USE_FIELD_NUMBER: _ClassVar[int]
    USER_INTERRUPT_FIELD_NUMBER: _ClassVar[int]
    USER_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    agent_message: AgentMessage
    agent_thinking: AgentThinking
    context_compacted: ContextCompacted
    create_time: _timestamp_pb2.Timestamp
    custom: CustomEvent
    custom_tool_result: CustomToolResult
    error: SessionError
    harness_started: HarnessStarted
    id: str
    model_usage: ModelUsage
    sandbox_provisioned: SandboxProvisioned
    seq: int
    status_changed: StatusChanged
    tool_confirmation: ToolConfirmation
    tool_result: ToolResult
    tool_use: ToolUse
    user_interrupt: UserInterrupt
    user_message: UserMessage
    def __init__(self, seq: _Optional[int] = ..., id: _Optional[str] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., user_message: _Optional[_Union[UserMessage, _Mapping]] = ..., user_interrupt: _Optional[_Union[UserInterrupt, _Mapping]] = ..., tool_confirmation: _Optional[_Union[ToolConfirmation, _Mapping]] = ..., custom_tool_result: _Optional[_Union[CustomToolResult, _Mapping]] = ..., agent_message: _Optional[_Union[AgentMessage, _Mapping]] = ..., agent_thinking: _Optional[_Union[AgentThinking, _Mapping]] = ..., tool_use: _Optional[_Union[ToolUse, _Mapping]] = ..., tool_result: _Optional[_Union[ToolResult, _Mapping]] = ..., status_changed: _Optional[_Union[StatusChanged, _Mapping]] = ..., harness_started: _Optional[_Union[HarnessStarted, _Mapping]] = ..., sandbox_provisioned: _Optional[_Union[SandboxProvisioned, _Mapping]] = ..., model_usage: _Optional[_Union[ModelUsage, _Mapping]] = ..., error: _Optional[_Union[SessionError, _Mapping]] = ..., context_compacted: _Optional[_Union[ContextCompacted, _Mapping]] = ..., custom: _Optional[_Union[CustomEvent, _Mapping]] = ...) -> None: ...

class HarnessStarted(_message.Message):
    __slots__ = ["harness_id", "lease_epoch", "resumed_after_seq", "worker_id"]
    HARNESS_ID_FIELD_NUMBER: _ClassVar[int]
    LEASE_EPOCH_FIELD_NUMBER: _ClassVar[int]
    RESUMED_AFTER_SEQ_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    harness_id: str
    lease_epoch: int
    resumed_after_seq: int
    worker_id: str
    def __init__(self, harness_id: _Optional[str] = ..., lease_epoch: _Optional[int] = ..., resumed_after_seq: _Optional[int] = ..., worker_id: _Optional[str] = ...) -> None: ...

class LeaseEnd(_message.Message):
    __slots__ = ["harness_id", "lease_epoch", "reason", "worker_id"]
    HARNESS_ID_FIELD_NUMBER: _ClassVar[int]
    LEASE_EPOCH_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    harness_id: str
    lease_epoch: int
    reason: LeaseEndReason
    worker_id: str
    def __init__(self, harness_id: _Optional[str] = ..., lease_epoch: _Optional[int] = ..., worker_id: _Optional[str] = ..., reason: _Optional[_Union[LeaseEndReason, str]] = ...) -> None: ...

class ModelUsage(_message.Message):
    __slots__ = ["cache_creation_input_tokens", "cache_read_input_tokens", "duration", "input_tokens", "model", "output_tokens"]
    CACHE_CREATION_INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    CACHE_READ_INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    cache_creation_input_tokens: int
    cache_read_input_tokens: int
    duration: _duration_pb2.Duration
    input_tokens: int
    model: str
    output_tokens: int
    def __init__(self, model: _Optional[str] = ..., input_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ..., cache_read_input_tokens: _Optional[int] = ..., cache_creation_input_tokens: _Optional[int] = ..., duration: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class SandboxProvisioned(_message.Message):
    __slots__ = ["backend", "replaces_sandbox_id", "sandbox_id"]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    REPLACES_SANDBOX_ID_FIELD_NUMBER: _ClassVar[int]
    SANDBOX_ID_FIELD_NUMBER: _ClassVar[int]
    backend: str
    replaces_sandbox_id: str
    sandbox_id: str
    def __init__(self, sandbox_id: _Optional[str] = ..., backend: _Optional[str] = ..., replaces_sandbox_id: _Optional[str] = ...) -> None: ...

class SessionError(_message.Message):
    __slots__ = ["attempt", "code", "http_status", "message", "retry_after", "retryable"]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    HTTP_STATUS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    RETRYABLE_FIELD_NUMBER: _ClassVar[int]
    RETRY_AFTER_FIELD_NUMBER: _ClassVar[int]
    attempt: int
    code: str
    http_status: int
    message: str
    retry_after: _duration_pb2.Duration
    retryable: bool
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ..., retryable: bool = ..., attempt: _Optional[int] = ..., retry_after: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., http_status: _Optional[int] = ...) -> None: ...

class StatusChanged(_message.Message):
    __slots__ = ["detail", "ended_lease", "status", "stop_reason"]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    ENDED_LEASE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STOP_REASON_FIELD_NUMBER: _ClassVar[int]
    detail: str
    ended_lease: LeaseEnd
    status: _session_pb2.SessionStatus
    stop_reason: _session_pb2.StopReason
    def __init__(self, status: _Optional[_Union[_session_pb2.SessionStatus, str]] = ..., stop_reason: _Optional[_Union[_session_pb2.StopReason, str]] = ..., detail: _Optional[str] = ..., ended_lease: _Optional[_Union[LeaseEnd, _Mapping]] = ...) -> None: ...

class ToolConfirmation(_message.Message):
    __slots__ = ["decision", "deny_message", "tool_use_id"]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    DENY_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TOOL_USE_ID_FIELD_NUMBER: _ClassVar[int]
    decision: ConfirmationDecision
    deny_message: str
    tool_use_id: str
    def __init__(self, tool_use_id: _Optional[str] = ..., decision: _Optional[_Union[ConfirmationDecision, str]] = ..., deny_message: _Optional[str] = ...) -> None: ...

class ToolResult(_message.Message):
    __slots__ = ["duration", "exit_code", "is_error", "output", "replayed", "sandbox_id", "tool_use_id", "truncated"]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    IS_ERROR_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    SANDBOX_ID_FIELD_NUMBER: _ClassVar[int]
    TOOL_USE_ID_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    duration: _duration_pb2.Duration
    exit_code: int
    is_error: bool
    output: str
    replayed: bool
    sandbox_id: str
    tool_use_id: str
    truncated: bool
    def __init__(self, tool_use_id: _Optional[str] = ..., output: _Optional[str] = ..., is_error: bool = ..., truncated: bool = ..., sandbox_id: _Optional[str] = ..., replayed: bool = ..., exit_code: _Optional[int] = ..., duration: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class ToolUse(_message.Message):
    __slots__ = ["input", "kind", "name", "requires_confirmation", "tool_use_id"]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REQUIRES_CONFIRMATION_FIELD_NUMBER: _ClassVar[int]
    TOOL_USE_ID_FIELD_NUMBER: _ClassVar[int]
    input: _struct_pb2.Struct
    kind: _session_pb2.ToolKind
    name: str
    requires_confirmation: bool
    tool_use_id: str
    def __init__(self, tool_use_id: _Optional[str] = ..., name: _Optional[str] = ..., input: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., kind: _Optional[_Union[_session_pb2.ToolKind, str]] = ..., requires_confirmation: bool = ...) -> None: ...

class UserInterrupt(_message.Message):
    __slots__ = ["reason"]
    REASON_FIELD_NUMBER: _ClassVar[int]
    reason: str
    def __init__(self, reason: _Optional[str] = ...) -> None: ...

class UserMessage(_message.Message):
    __slots__ = ["content"]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    content: _containers.RepeatedCompositeFieldContainer[_content_pb2.ContentBlock]
    def __init__(self, content: _Optional[_Iterable[_Union[_content_pb2.ContentBlock, _Mapping]]] = ...) -> None: ...

class ConfirmationDecision(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class LeaseEndReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
