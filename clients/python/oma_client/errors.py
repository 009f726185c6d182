"""OMA error details (WIRE-3): the gRPC code, the UPPER_SNAKE reason and its metadata."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional

import grpc
from google.protobuf import any_pb2

from . import _gen_path  # noqa: F401
from google.rpc import error_details_pb2

_DETAILS_KEY = "grpc-status-details-bin"
_ERROR_INFO_TYPE = "type.googleapis.com/google.rpc.ErrorInfo"


@dataclass
class OmaErrorInfo:
    """What an OMA server says about a failed call."""

    code: grpc.StatusCode
    reason: str = ""
    domain: str = ""
    metadata: Dict[str, str] = field(default_factory=dict)
    message: str = ""

    @property
    def field(self) -> Optional[str]:
        """The request field at fault, when there is one."""
        return self.metadata.get("field")


class OmaRpcError(grpc.RpcError):
    """A failed call with its OMA reason read out. It is a grpc.RpcError with the usual
    ``code()``, ``details()`` and ``trailing_metadata()``, plus ``reason`` and ``info``."""

    def __init__(self, info: OmaErrorInfo, cause: Optional[grpc.RpcError] = None):
        super().__init__(f"{info.code.name} {info.reason or '(no reason)'}: {info.message}")
        self.info = info
        self.cause = cause

    @classmethod
    def wrap(cls, err: grpc.RpcError) -> "OmaRpcError":
        return err if isinstance(err, OmaRpcError) else cls(error_info(err), err)

    def code(self) -> grpc.StatusCode:
        return self.info.code

    def details(self) -> str:
        return self.info.message

    def trailing_metadata(self):
        return self.cause.trailing_metadata() if self.cause is not None and hasattr(self.cause, "trailing_metadata") else ()

    @property
    def reason(self) -> str:
        return self.info.reason

    @property
    def metadata(self) -> Dict[str, str]:
        return self.info.metadata


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _status_details(buf: bytes) -> list[any_pb2.Any]:
    """The `details` (field 3, repeated Any) of an encoded google.rpc.Status."""
    details, pos = [], 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            _, pos = _read_varint(buf, pos)
        elif wire_type == 2:
            length, pos = _read_varint(buf, pos)
            if number == 3:
                details.append(any_pb2.Any.FromString(buf[pos : pos + length]))
            pos += length
        elif wire_type == 1:
            pos += 8
        elif wire_type == 5:
            pos += 4
        else:
            break
    return details


def error_info(err: grpc.RpcError) -> OmaErrorInfo:
    """Reads the code, reason and metadata of an error raised by a call."""
    if isinstance(err, OmaRpcError):
        return err.info
    code = err.code() if hasattr(err, "code") else grpc.StatusCode.UNKNOWN
    message = err.details() if hasattr(err, "details") else str(err)
    info = OmaErrorInfo(code=code, message=message or "")
    trailers = err.trailing_metadata() if hasattr(err, "trailing_metadata") else None
    for key, value in trailers or ():
        if key != _DETAILS_KEY:
            continue
        for detail in _status_details(value):
            if detail.type_url == _ERROR_INFO_TYPE:
                ei = error_details_pb2.ErrorInfo.FromString(detail.value)
                info.reason, info.domain, info.metadata = ei.reason, ei.domain, dict(ei.metadata)
                return info
    return info


def reason_of(err: BaseException) -> str:
    """The OMA reason of an error, or ""."""
    if isinstance(err, grpc.RpcError):
        return error_info(err).reason
    return ""


def is_transient(err: BaseException) -> bool:
    """True for faults that may pass by themselves (server unreachable or restarting, deadline,
    a broken transport without an OMA reason). An error with an OMA reason is an answer."""
    if not isinstance(err, grpc.RpcError):
        return False
    info = error_info(err)
    transient = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.ABORTED,
                 grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL)
    return info.code in transient and info.reason == ""
