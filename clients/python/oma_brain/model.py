"""The Messages API over plain HTTP (the standard library's http.client), streamed as
server-sent events and assembled into the final message, with HARN-12's retry policy."""
from __future__ import annotations

import email.utils
import http.client
import json
import os
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Callable, Optional
from urllib.parse import urlsplit

from .stop_signal import Interrupted, StopSignal

API_VERSION = "2023-06-01"
DEFAULT_BASE_URL = "https://api.anthropic.com"
# A model call that sends nothing for this long is a dead connection.
READ_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class ModelFailure:
    """One failed attempt, as the brain records it in an error event."""

    code: str
    message: str
    retryable: bool
    http_status: int = 0
    retry_after_s: Optional[float] = None


class ModelError(Exception):
    def __init__(self, failure: ModelFailure):
        super().__init__(failure.message)
        self.failure = failure


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts per model call (the first included) and the backoff between them."""

    max_attempts: int = 6
    initial_backoff_s: float = 1.0
    max_backoff_s: float = 60.0

    def delay_s(self, failure: ModelFailure, attempt: int) -> float:
        if failure.retry_after_s is not None:
            return min(self.max_backoff_s, failure.retry_after_s)
        return min(self.max_backoff_s, self.initial_backoff_s * 2 ** (attempt - 1))


def _failure_of_status(status: int, body: bytes, headers: http.client.HTTPMessage) -> ModelFailure:
    try:
        message = json.loads(body)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = body[:200].decode("utf8", "replace") or f"HTTP {status}"
    code = ("MODEL_RATE_LIMITED" if status == 429 else "MODEL_OVERLOADED" if status == 529
            else "MODEL_SERVER_ERROR" if status >= 500 else "MODEL_REQUEST_INVALID")
    retryable = status in (408, 409, 429) or status >= 500
    return ModelFailure(code, f"{status} {message}", retryable, status, _retry_after_s(headers))


def _retry_after_s(headers: http.client.HTTPMessage) -> Optional[float]:
    """`retry-after-ms`, else `retry-after` (seconds or an HTTP date), as the API sends them."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        date = email.utils.parsedate_to_datetime(value) if value else None
        return max(0.0, date.timestamp() - time.time()) if date else None


class MessagesClient:
    """POST /v1/messages with `stream: true`. Reads ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY,
    as the official SDKs do; the key goes only to the model endpoint (HARN-14)."""

    def __init__(self, base_url: Optional[str] = None, api_key: Optional[str] = None):
        url = urlsplit((base_url or os.environ.get("ANTHROPIC_BASE_URL") or DEFAULT_BASE_URL).rstrip("/"))
        self._https = url.scheme == "https"
        self._host = url.hostname or "localhost"
        self._port = url.port or (443 if self._https else 80)
        self._path = (url.path or "") + "/v1/messages"
        self._api_key = api_key if api_key is not None else os.environ.get("ANTHROPIC_API_KEY", "")

    def stream(self, body: dict, stop: StopSignal) -> dict:
        """One attempt: the final message, ModelError on an API or connection failure, or
        Interrupted when ``stop`` is raised (the socket is shut to cut the call short)."""
        conn = (http.client.HTTPSConnection(self._host, self._port, timeout=READ_TIMEOUT_S, context=ssl.create_default_context())
                if self._https else http.client.HTTPConnection(self._host, self._port, timeout=READ_TIMEOUT_S))

        def cut() -> None:
            if conn.sock is not None:
                try:
                    conn.sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        unregister = stop.on_stop(cut)
        try:
            payload = json.dumps({**body, "stream": True}).encode()
            conn.request("POST", self._path, body=payload, headers={
                "content-type": "application/json",
                "accept": "text/event-stream",
                "x-api-key": self._api_key,
                "anthropic-version": API_VERSION,
            })
            res = conn.getresponse()
            if res.status != 200:
                raise ModelError(_failure_of_status(res.status, res.read(), res.headers))
            return _assemble(res)
        except (OSError, http.client.HTTPException, ValueError) as err:
            if stop.stopped:
                raise Interrupted("model call stopped") from err
            raise ModelError(ModelFailure("MODEL_CONNECTION_ERROR", f"{type(err).__name__}: {err}", True)) from err
        finally:
            unregister()
            conn.close()


def _assemble(res: http.client.HTTPResponse) -> dict:
    """Builds the message from the stream's events (message_start, content_block_*, message_delta)."""
    message: Optional[dict] = None
    partial_json: dict = {}
    event, data = "", []
    for raw in res:
        line = raw.decode("utf8").rstrip("\r\n")
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif line == "" and data:
            payload = json.loads("\n".join(data))
            kind = payload.get("type", event)
            data, event = [], ""
            if kind == "error":
                err = payload.get("error", {})
                overloaded = err.get("type") == "overloaded_error"
                raise ModelError(ModelFailure("MODEL_OVERLOADED" if overloaded else "MODEL_SERVER_ERROR", err.get("message", "stream error"), True))
            if kind == "message_start":
                message = dict(payload["message"], content=[])
            elif message is None:
                continue
            elif kind == "content_block_start":
                block = dict(payload["content_block"])
                if block.get("type") == "tool_use":
                    block["input"] = {}
                    partial_json[payload["index"]] = []
                message["content"].append(block)
            elif kind == "content_block_delta":
                block, delta = message["content"][payload["index"]], payload["delta"]
                if delta["type"] == "text_delta":
                    block["text"] = block.get("text", "") + delta["text"]
                elif delta["type"] == "thinking_delta":
                    block["thinking"] = block.get("thinking", "") + delta["thinking"]
                elif delta["type"] == "signature_delta":
                    block["signature"] = delta["signature"]
                elif delta["type"] == "input_json_delta":
                    partial_json[payload["index"]].append(delta["partial_json"])
            elif kind == "content_block_stop":
                parts = partial_json.pop(payload["index"], None)
                if parts:
                    message["content"][payload["index"]]["input"] = json.loads("".join(parts))
            elif kind == "message_delta":
                message.update({k: v for k, v in payload.get("delta", {}).items() if v is not None})
                message["usage"] = {**message.get("usage", {}), **payload.get("usage", {})}
            elif kind == "message_stop":
                return message
    raise ModelError(ModelFailure("MODEL_CONNECTION_ERROR", "the stream ended before message_stop", True))


def call_model(client: MessagesClient, body: dict, policy: RetryPolicy, stop: StopSignal,
               on_failed_attempt: Callable[[ModelFailure, int, Optional[float]], None]) -> tuple:
    """Calls the model, retrying retryable failures with backoff that honours retry-after
    (HARN-12). Each failed attempt is reported before the wait. Returns ("message", msg,
    seconds) or ("failed", failure, exhausted); raises Interrupted when ``stop`` is raised."""
    attempt = 0
    while True:
        attempt += 1
        started = time.monotonic()
        try:
            return ("message", client.stream(body, stop), time.monotonic() - started)
        except ModelError as err:
            failure = err.failure
        again = failure.retryable and attempt < policy.max_attempts
        delay = policy.delay_s(failure, attempt) if again else None
        on_failed_attempt(failure, attempt, delay)
        if not again:
            return ("failed", failure, failure.retryable)
        if _sleep(delay, stop):
            raise Interrupted("stopped while waiting to retry the model")


def _sleep(seconds: float, stop: StopSignal) -> bool:
    """Waits; True when ``stop`` was raised meanwhile."""
    woken = threading.Event()
    unregister = stop.on_stop(woken.set)
    try:
        return woken.wait(seconds)
    finally:
        unregister()
