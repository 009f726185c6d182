from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ConnectWorkerRequest(_message.Message):
    __slots__ = ["capacity", "labels", "worker_id"]
    class LabelsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    capacity: int
    labels: _containers.ScalarMap[str, str]
    worker_id: str
    def __init__(self, worker_id: _Optional[str] = ..., capacity: _Optional[int] = ..., labels: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ConnectWorkerResponse(_message.Message):
    __slots__ = ["assignment", "heartbeat"]
    ASSIGNMENT_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    assignment: WorkAssignment
    heartbeat: WorkerHeartbeat
    def __init__(self, assignment: _Optional[_Union[WorkAssignment, _Mapping]] = ..., heartbeat: _Optional[_Union[WorkerHeartbeat, _Mapping]] = ...) -> None: ...

class Harness(_message.Message):
    __slots__ = ["expire_time", "harness_id", "lease_epoch", "session_id", "start_time", "worker_id"]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    HARNESS_ID_FIELD_NUMBER: _ClassVar[int]
    LEASE_EPOCH_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    expire_time: _timestamp_pb2.Timestamp
    harness_id: str
    lease_epoch: int
    session_id: str
    start_time: _timestamp_pb2.Timestamp
    worker_id: str
    def __init__(self, harness_id: _Optional[str] = ..., session_id: _Optional[str] = ..., worker_id: _Optional[str] = ..., lease_epoch: _Optional[int] = ..., start_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., expire_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListHarnessesRequest(_message.Message):
    __slots__ = ["page_size", "page_token", "session_id"]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    session_id: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., session_id: _Optional[str] = ...) -> None: ...

class ListHarnessesResponse(_message.Message):
    __slots__ = ["harnesses", "next_page_token"]
    HARNESSES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    harnesses: _containers.RepeatedCompositeFieldContainer[Harness]
    next_page_token: str
    def __init__(self, harnesses: _Optional[_Iterable[_Union[Harness, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class WakeRequest(_message.Message):
    __slots__ = ["session_id"]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class WakeResponse(_message.Message):
    __slots__ = ["already_running", "harness_id", "lease_epoch"]
    ALREADY_RUNNING_FIELD_NUMBER: _ClassVar[int]
    HARNESS_ID_FIELD_NUMBER: _ClassVar[int]
    LEASE_EPOCH_FIELD_NUMBER: _ClassVar[int]
    already_running: bool
    harness_id: str
    lease_epoch: int
    def __init__(self, harness_id: _Optional[str] = ..., lease_epoch: _Optional[int] = ..., already_running: bool = ...) -> None: ...

class WorkAssignment(_message.Message):
    __slots__ = ["harness_id", "lease_epoch", "lease_expire_time", "lease_ttl", "session_id", "session_token", "trace_context"]
    class TraceContextEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    HARNESS_ID_FIELD_NUMBER: _ClassVar[int]
    LEASE_EPOCH_FIELD_NUMBER: _ClassVar[int]
    LEASE_EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    LEASE_TTL_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TRACE_CONTEXT_FIELD_NUMBER: _ClassVar[int]
    harness_id: str
    lease_epoch: int
    lease_expire_time: _timestamp_pb2.Timestamp
    lease_ttl: _duration_pb2.Duration
    session_id: str
    session_token: str
    trace_context: _containers.ScalarMap[str, str]
    def __init__(self, harness_id: _Optional[str] = ..., session_id: _Optional[str] = ..., lease_epoch: _Optional[int] = ..., lease_expire_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., session_token: _Optional[str] = ..., trace_context: _Optional[_Mapping[str, str]] = ..., lease_ttl: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class WorkerHeartbeat(_message.Message):
    __slots__ = ["assigned"]
    ASSIGNED_FIELD_NUMBER: _ClassVar[int]
    assigned: int
    def __init__(self, assigned: _Optional[int] = ...) -> None: ...
