from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
NETWORK_MODE_ALLOW_LIST: NetworkMode
NETWORK_MODE_FULL: NetworkMode
NETWORK_MODE_NONE: NetworkMode
NETWORK_MODE_UNSPECIFIED: NetworkMode
OUTPUT_STREAM_STDERR: OutputStream
OUTPUT_STREAM_STDOUT: OutputStream
OUTPUT_STREAM_UNSPECIFIED: OutputStream
SANDBOX_STATE_DESTROYED: SandboxState
SANDBOX_STATE_LOST: SandboxState
SANDBOX_STATE_PROVISIONING: SandboxState
SANDBOX_STATE_READY: SandboxState
SANDBOX_STATE_UNSPECIFIED: SandboxState

class GitRepository(_message.Message):
    __slots__ = ["branch", "credential_id", "path", "url"]
    BRANCH_FIELD_NUMBER: _ClassVar[int]
    CREDENTIAL_ID_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    branch: str
    credential_id: str
    path: str
    url: str
    def __init__(self, url: _Optional[str] = ..., branch: _Optional[str] = ..., path: _Optional[str] = ..., credential_id: _Optional[str] = ...) -> None: ...

class NetworkPolicy(_message.Message):
    __slots__ = ["allow", "mode"]
    ALLOW_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    allow: _containers.RepeatedScalarFieldContainer[str]
    mode: NetworkMode
    def __init__(self, mode: _Optional[_Union[NetworkMode, str]] = ..., allow: _Optional[_Iterable[str]] = ...) -> None: ...

class Sandbox(_message.Message):
    __slots__ = ["backend", "create_time", "expire_time", "labels", "resources", "sandbox_id", "session_id", "state", "state_detail", "tenant"]
    class LabelsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    SANDBOX_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_DETAIL_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    backend: str
    create_time: _timestamp_pb2.Timestamp
    expire_time: _timestamp_pb2.Timestamp
    labels: _containers.ScalarMap[str, str]
    resources: SandboxResources
    sandbox_id: str
    session_id: str
    state: SandboxState
    state_detail: str
    tenant: str
    def __init__(self, sandbox_id: _Optional[str] = ..., backend: _Optional[str] = ..., state: _Optional[_Union[SandboxState, str]] = ..., resources: _Optional[_Union[SandboxResources, _Mapping]] = ..., labels: _Optional[_Mapping[str, str]] = ..., session_id: _Optional[str] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., expire_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., state_detail: _Optional[str] = ..., tenant: _Optional[str] = ...) -> None: ...

class SandboxFile(_message.Message):
    __slots__ = ["content", "mode", "path"]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    content: bytes
    mode: int
    path: str
    def __init__(self, path: _Optional[str] = ..., content: _Optional[bytes] = ..., mode: _Optional[int] = ...) -> None: ...

class SandboxResources(_message.Message):
    __slots__ = ["backend", "cpu", "disk_bytes", "env", "files", "idle_ttl", "image", "memory_bytes", "network", "pids", "repositories", "security"]
    class EnvEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    CPU_FIELD_NUMBER: _ClassVar[int]
    DISK_BYTES_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    IDLE_TTL_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    PIDS_FIELD_NUMBER: _ClassVar[int]
    REPOSITORIES_FIELD_NUMBER: _ClassVar[int]
    SECURITY_FIELD_NUMBER: _ClassVar[int]
    backend: str
    cpu: float
    disk_bytes: int
    env: _containers.ScalarMap[str, str]
    files: _containers.RepeatedCompositeFieldContainer[SandboxFile]
    idle_ttl: _duration_pb2.Duration
    image: str
    memory_bytes: int
    network: NetworkPolicy
    pids: int
    repositories: _containers.RepeatedCompositeFieldContainer[GitRepository]
    security: SandboxSecurity
    def __init__(self, backend: _Optional[str] = ..., image: _Optional[str] = ..., cpu: _Optional[float] = ..., memory_bytes: _Optional[int] = ..., pids: _Optional[int] = ..., disk_bytes: _Optional[int] = ..., network: _Optional[_Union[NetworkPolicy, _Mapping]] = ..., idle_ttl: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., env: _Optional[_Mapping[str, str]] = ..., files: _Optional[_Iterable[_Union[SandboxFile, _Mapping]]] = ..., repositories: _Optional[_Iterable[_Union[GitRepository, _Mapping]]] = ..., security: _Optional[_Union[SandboxSecurity, _Mapping]] = ...) -> None: ...

class SandboxSecurity(_message.Message):
    __slots__ = ["allow_privilege_escalation", "keep_capabilities", "run_as_root", "writable_root"]
    ALLOW_PRIVILEGE_ESCALATION_FIELD_NUMBER: _ClassVar[int]
    KEEP_CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    RUN_AS_ROOT_FIELD_NUMBER: _ClassVar[int]
    WRITABLE_ROOT_FIELD_NUMBER: _ClassVar[int]
    allow_privilege_escalation: bool
    keep_capabilities: bool
    run_as_root: bool
    writable_root: bool
    def __init__(self, run_as_root: bool = ..., writable_root: bool = ..., keep_capabilities: bool = ..., allow_privilege_escalation: bool = ...) -> None: ...

class ToolDescription(_message.Message):
    __slots__ = ["description", "input_schema", "name"]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    INPUT_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    description: str
    input_schema: _struct_pb2.Struct
    name: str
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., input_schema: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class NetworkMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class SandboxState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class OutputStream(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
