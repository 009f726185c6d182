from google.protobuf import duration_pb2 as _duration_pb2
from oma.v1 import event_pb2 as _event_pb2
from oma.v1 import session_pb2 as _session_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
EVENT_ORDER_ASCENDING: EventOrder
EVENT_ORDER_DESCENDING: EventOrder
EVENT_ORDER_UNSPECIFIED: EventOrder

class AcquireLeaseRequest(_message.Message):
    __slots__ = ["holder", "session_id", "ttl"]
    HOLDER_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    holder: str
    session_id: str
    ttl: _duration_pb2.Duration
    def __init__(self, session_id: _Optional[str] = ..., holder: _Optional[str] = ..., ttl: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class AcquireLeaseResponse(_message.Message):
    __slots__ = ["lease"]
    LEASE_FIELD_NUMBER: _ClassVar[int]
    lease: _session_pb2.Lease
    def __init__(self, lease: _Optional[_Union[_session_pb2.Lease, _Mapping]] = ...) -> None: ...

class AppendEventsRequest(_message.Message):
    __slots__ = ["events", "expected_head_seq", "idempotency_key", "lease_epoch", "session_id"]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_HEAD_SEQ_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    LEASE_EPOCH_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[_event_pb2.Event]
    expected_head_seq: int
    idempotency_key: str
    lease_epoch: int
    session_id: str
    def __init__(self, session_id: _Optional[str] = ..., events: _Optional[_Iterable[_Union[_event_pb2.Event, _Mapping]]] = ..., expected_head_seq: _Optional[int] = ..., idempotency_key: _Optional[str] = ..., lease_epoch: _Optional[int] = ...) -> None: ...

class AppendEventsResponse(_message.Message):
    __slots__ = ["duplicate", "events"]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    duplicate: bool
    events: _containers.RepeatedCompositeFieldContainer[_event_pb2.Event]
    def __init__(self, events: _Optional[_Iterable[_Union[_event_pb2.Event, _Mapping]]] = ..., duplicate: bool = ...) -> None: ...

class CaughtUp(_message.Message):
    __slots__ = ["head_seq"]
    HEAD_SEQ_FIELD_NUMBER: _ClassVar[int]
    head_seq: int
    def __init__(self, head_seq: _Optional[int] = ...) -> None: ...

class CreateSessionRequest(_message.Message):
    __slots__ = ["agent", "labels", "session_id"]
    class LabelsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    AGENT_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    agent: _session_pb2.AgentConfig
    labels: _containers.ScalarMap[str, str]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., agent: _Optional[_Union[_session_pb2.AgentConfig, _Mapping]] = ...) -> None: ...

class CreateSessionResponse(_message.Message):
    __slots__ = ["session"]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    session: _session_pb2.Session
    def __init__(self, session: _Optional[_Union[_session_pb2.Session, _Mapping]] = ...) -> None: ...

class DeleteSessionRequest(_message.Message):
    __slots__ = ["session_id"]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class DeleteSessionResponse(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class EmitEventRequest(_message.Message):
    __slots__ = ["event", "expected_head_seq", "idempotency_key", "lease_epoch", "session_id"]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_HEAD_SEQ_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    LEASE_EPOCH_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    event: _event_pb2.Event
    expected_head_seq: int
    idempotency_key: str
    lease_epoch: int
    session_id: str
    def __init__(self, session_id: _Optional[str] = ..., event: _Optional[_Union[_event_pb2.Event, _Mapping]] = ..., expected_head_seq: _Optional[int] = ..., idempotency_key: _Optional[str] = ..., lease_epoch: _Optional[int] = ...) -> None: ...

class EmitEventResponse(_message.Message):
    __slots__ = ["duplicate", "event"]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    duplicate: bool
    event: _event_pb2.Event
    def __init__(self, event: _Optional[_Union[_event_pb2.Event, _Mapping]] = ..., duplicate: bool = ...) -> None: ...

class EmitEventsRequest(_message.Message):
    __slots__ = ["events", "expected_head_seq", "idempotency_key", "lease_epoch", "session_id"]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_HEAD_SEQ_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    LEASE_EPOCH_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[_event_pb2.Event]
    expected_head_seq: int
    idempotency_key: str
    lease_epoch: int
    session_id: str
    def __init__(self, session_id: _Optional[str] = ..., events: _Optional[_Iterable[_Union[_event_pb2.Event, _Mapping]]] = ..., expected_head_seq: _Optional[int] = ..., idempotency_key: _Optional[str] = ..., lease_epoch: _Optional[int] = ...) -> None: ...

class EmitEventsResponse(_message.Message):
    __slots__ = ["duplicate", "events"]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    duplicate: bool
    events: _containers.RepeatedCompositeFieldContainer[_event_pb2.Event]
    def __init__(self, events: _Optional[_Iterable[_Union[_event_pb2.Event, _Mapping]]] = ..., duplicate: bool = ...) -> None: ...

class GetEventsRequest(_message.Message):
    __slots__ = ["after_seq", "before_seq", "limit", "order", "session_id"]
    AFTER_SEQ_FIELD_NUMBER: _ClassVar[int]
    BEFORE_SEQ_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    after_seq: int
    before_seq: int
    limit: int
    order: EventOrder
    session_id: str
    def __init__(self, session_id: _Optional[str] = ..., after_seq: _Optional[int] = ..., before_seq: _Optional[int] = ..., limit: _Optional[int] = ..., order: _Optional[_Union[EventOrder, str]] = ...) -> None: ...

class GetEventsResponse(_message.Message):
    __slots__ = ["events", "head_seq"]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    HEAD_SEQ_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[_event_pb2.Event]
    head_seq: int
    def __init__(self, events: _Optional[_Iterable[_Union[_event_pb2.Event, _Mapping]]] = ..., head_seq: _Optional[int] = ...) -> None: ...

class GetSessionRequest(_message.Message):
    __slots__ = ["session_id"]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class GetSessionResponse(_message.Message):
    __slots__ = ["session"]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    session: _session_pb2.Session
    def __init__(self, session: _Optional[_Union[_session_pb2.Session, _Mapping]] = ...) -> None: ...

class Heartbeat(_message.Message):
    __slots__ = ["head_seq"]
    HEAD_SEQ_FIELD_NUMBER: _ClassVar[int]
    head_seq: int
    def __init__(self, head_seq: _Optional[int] = ...) -> None: ...

class ListSessionsRequest(_message.Message):
    __slots__ = ["labels", "page_size", "page_token", "status"]
    class LabelsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    LABELS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    labels: _containers.ScalarMap[str, str]
    page_size: int
    page_token: str
    status: _session_pb2.SessionStatus
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., status: _Optional[_Union[_session_pb2.SessionStatus, str]] = ..., labels: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ListSessionsResponse(_message.Message):
    __slots__ = ["next_page_token", "sessions"]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    next_page_token: str
    sessions: _containers.RepeatedCompositeFieldContainer[_session_pb2.Session]
    def __init__(self, sessions: _Optional[_Iterable[_Union[_session_pb2.Session, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ReleaseLeaseRequest(_message.Message):
    __slots__ = ["epoch", "session_id"]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    epoch: int
    session_id: str
    def __init__(self, session_id: _Optional[str] = ..., epoch: _Optional[int] = ...) -> None: ...

class ReleaseLeaseResponse(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class RenewLeaseRequest(_message.Message):
    __slots__ = ["epoch", "session_id", "ttl"]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    epoch: int
    session_id: str
    ttl: _duration_pb2.Duration
    def __init__(self, session_id: _Optional[str] = ..., epoch: _Optional[int] = ..., ttl: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class RenewLeaseResponse(_message.Message):
    __slots__ = ["lease", "session_token"]
    LEASE_FIELD_NUMBER: _ClassVar[int]
    SESSION_TOKEN_FIELD_NUMBER: _ClassVar[int]
    lease: _session_pb2.Lease
    session_token: str
    def __init__(self, lease: _Optional[_Union[_session_pb2.Lease, _Mapping]] = ..., session_token: _Optional[str] = ...) -> None: ...

class WatchEventsRequest(_message.Message):
    __slots__ = ["after_seq", "session_id"]
    AFTER_SEQ_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    after_seq: int
    session_id: str
    def __init__(self, session_id: _Optional[str] = ..., after_seq: _Optional[int] = ...) -> None: ...

class WatchEventsResponse(_message.Message):
    __slots__ = ["caught_up", "event", "heartbeat"]
    CAUGHT_UP_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    caught_up: CaughtUp
    event: _event_pb2.Event
    heartbeat: Heartbeat
    def __init__(self, event: _Optional[_Union[_event_pb2.Event, _Mapping]] = ..., caught_up: _Optional[_Union[CaughtUp, _Mapping]] = ..., heartbeat: _Optional[_Union[Heartbeat, _Mapping]] = ...) -> None: ...

class EventOrder(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
