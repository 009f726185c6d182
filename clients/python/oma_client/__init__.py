"""OMA client for Python: generated stubs (``oma.v1``) plus a resuming watch and safe emits."""
from . import _gen_path  # noqa: F401
from .backoff import Backoff
from .client import DEFAULT_EMIT_ATTEMPTS, OmaClient, new_idempotency_key, user_text
from .errors import OmaErrorInfo, OmaRpcError, error_info, is_transient, reason_of

__all__ = [
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
