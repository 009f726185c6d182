from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetServerInfoRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class GetServerInfoResponse(_message.Message):
    __slots__ = ["features", "implementation", "limits", "sandbox_backends", "session_store", "spec_version", "version"]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    IMPLEMENTATION_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    SANDBOX_BACKENDS_FIELD_NUMBER: _ClassVar[int]
    SESSION_STORE_FIELD_NUMBER: _ClassVar[int]
    SPEC_VERSION_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    features: _containers.RepeatedScalarFieldContainer[str]
    implementation: str
    limits: Limits
    sandbox_backends: _containers.RepeatedScalarFieldContainer[str]
    session_store: str
    spec_version: str
    version: str
    def __init__(self, implementation: _Optional[str] = ..., version: _Optional[str] = ..., spec_version: _Optional[str] = ..., features: _Optional[_Iterable[str]] = ..., limits: _Optional[_Union[Limits, _Mapping]] = ..., sandbox_backends: _Optional[_Iterable[str]] = ..., session_store: _Optional[str] = ...) -> None: ...

class Limits(_message.Message):
    __slots__ = ["max_batch_bytes", "max_batch_events", "max_event_bytes", "max_output_bytes", "max_page_size", "max_request_bytes", "max_struct_depth", "max_watch_lag_events"]
    MAX_BATCH_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCH_EVENTS_FIELD_NUMBER: _ClassVar[int]
    MAX_EVENT_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_OUTPUT_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    MAX_REQUEST_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_STRUCT_DEPTH_FIELD_NUMBER: _ClassVar[int]
    MAX_WATCH_LAG_EVENTS_FIELD_NUMBER: _ClassVar[int]
    max_batch_bytes: int
    max_batch_events: int
    max_event_bytes: int
    max_output_bytes: int
    max_page_size: int
    max_request_bytes: int
    max_struct_depth: int
    max_watch_lag_events: int
    def __init__(self, max_event_bytes: _Optional[int] = ..., max_batch_bytes: _Optional[int] = ..., max_batch_events: _Optional[int] = ..., max_page_size: _Optional[int] = ..., max_output_bytes: _Optional[int] = ..., max_watch_lag_events: _Optional[int] = ..., max_struct_depth: _Optional[int] = ..., max_request_bytes: _Optional[int] = ...) -> None: ...
