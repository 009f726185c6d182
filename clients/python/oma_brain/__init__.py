"""A brain worker in Python: the worker protocol of SPEC §3.1 from outside the reference
server (ConnectWorker, RenewLease, appends with the lease epoch and idempotency keys,
ReleaseLease, Execute keyed by tool_use id), calling the Messages API over plain HTTP."""
from oma_client import _gen_path  # noqa: F401

from .brain import Assignment, Brain
from .worker import Worker, connect

__all__ = ["Assignment", "Brain", "Worker", "connect"]
