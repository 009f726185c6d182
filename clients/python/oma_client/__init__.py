"""OMA client for Python: generated stubs (``oma.v1``) plus a resuming watch, safe emits and a streamed appender."""
from . import _gen_path  # noqa: F401
from .append import Appender, AppenderClosed
from .backoff import Backoff
from .client import DEFAULT_EMIT_ATTEMPTS, OmaClient, new_idempotency_key, user_text
from .errors import OmaErrorInfo, OmaRpcError, error_info, is_transient, reason_of

__all__ = [
    "Appender",
    "AppenderClosed",
    "Backoff",
    "DEFAULT_EMIT_ATTEMPTS",
    "OmaClient",
    "OmaErrorInfo",
    "OmaRpcError",
    "error_info",
    "is_transient",
    "new_idempotency_key",
    "reason_of",
    "user_text",
]
