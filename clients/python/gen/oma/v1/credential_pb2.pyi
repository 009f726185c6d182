from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BearerCredential(_message.Message):
    __slots__ = ["token", "url_prefix"]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    URL_PREFIX_FIELD_NUMBER: _ClassVar[int]
    token: str
    url_prefix: str
    def __init__(self, url_prefix: _Optional[str] = ..., token: _Optional[str] = ...) -> None: ...

class Credential(_message.Message):
    __slots__ = ["bearer", "create_time", "credential_id", "display_name", "git_token", "tenant", "update_time"]
    BEARER_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    CREDENTIAL_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    GIT_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    bearer: BearerCredential
    create_time: _timestamp_pb2.Timestamp
    credential_id: str
    display_name: str
    git_token: GitTokenCredential
    tenant: str
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, credential_id: _Optional[str] = ..., display_name: _Optional[str] = ..., git_token: _Optional[_Union[GitTokenCredential, _Mapping]] = ..., bearer: _Optional[_Union[BearerCredential, _Mapping]] = ..., tenant: _Optional[str] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GitTokenCredential(_message.Message):
    __slots__ = ["host", "token", "username"]
    HOST_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    host: str
    token: str
    username: str
    def __init__(self, host: _Optional[str] = ..., username: _Optional[str] = ..., token: _Optional[str] = ...) -> None: ...
