"""A thin OMA client: the generated stubs of each service on one channel, plus a watch that
resumes across reconnects and an emit that retries under one idempotency key."""
from __future__ import annotations

import secrets
import threading
import time
from typing import TYPE_CHECKING, Callable, Iterator, Optional, Sequence, Union

import grpc

from . import _gen_path  # noqa: F401
from .backoff import Backoff
from .errors import OmaRpcError, error_info, is_transient
from oma.v1 import (
    content_pb2,
    event_pb2,
    harness_service_pb2_grpc,
    sandbox_service_pb2_grpc,
    server_info_service_pb2_grpc,
    session_service_pb2,
    session_service_pb2_grpc,
    token_service_pb2_grpc,
)

if TYPE_CHECKING:
    from .append import Appender

DEFAULT_EMIT_ATTEMPTS = 5
# Per-attempt deadline of an emit: a hung connection becomes DEADLINE_EXCEEDED and is retried.
DEFAULT_EMIT_ATTEMPT_TIMEOUT_S = 30.0
# Three of the server's default 15 s heartbeat intervals (SESS-13).
DEFAULT_WATCH_IDLE_TIMEOUT_S = 45.0

# gRPC's own reconnect backoff defaults to 1 s growing to 120 s, so after a server restart a
# channel could sit idle for minutes while the server is back. These bound it to 5 s, in
# line with the watch and emit backoff.
CHANNEL_OPTIONS = (
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 5000),
)


class _BearerToken(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor, grpc.StreamStreamClientInterceptor):
    """Adds ``authorization: Bearer <token>`` to every call (SEC-4). ``token`` may be a
    function, asked at each call (a brain's session token changes with every RenewLease)."""

    def __init__(self, token: Union[str, Callable[[], str]]):
        self._token = token

    def _with_token(self, details):
        token = self._token() if callable(self._token) else self._token
        metadata = list(details.metadata or []) + [("authorization", f"Bearer {token}")]
        return details._replace(metadata=metadata) if hasattr(details, "_replace") else _Details(details, metadata)

    def intercept_unary_unary(self, continuation, details, request):
        return continuation(self._with_token(details), request)

    def intercept_unary_stream(self, continuation, details, request):
        return continuation(self._with_token(details), request)

    def intercept_stream_stream(self, continuation, details, request_iterator):
        return continuation(self._with_token(details), request_iterator)


class _Details(grpc.ClientCallDetails):
    def __init__(self, base, metadata):
        self.method, self.timeout, self.credentials = base.method, base.timeout, base.credentials
        self.wait_for_ready, self.compression = getattr(base, "wait_for_ready", None), getattr(base, "compression", None)
        self.metadata = metadata


def new_idempotency_key() -> str:
    """A random key: two logical calls never share one."""
    return "k-" + secrets.token_hex(16)


def user_text(text: str) -> event_pb2.Event:
    """A user_message event with one text block."""
    return event_pb2.Event(user_message=event_pb2.UserMessage(content=[content_pb2.ContentBlock(text=content_pb2.TextBlock(text=text))]))



def with_guards(request, expected_head_seq: Optional[int], lease_epoch: Optional[int]):
    """Sets the optional guards of an append request (SESS-2's expected head, SESS-10's lease epoch) that are given."""
    if expected_head_seq is not None:
        request.expected_head_seq = expected_head_seq
    if lease_epoch is not None:
        request.lease_epoch = lease_epoch
    return request

class OmaClient:
    """Stubs for each OMA service on one gRPC channel.

    ``OmaClient("127.0.0.1:7070", token="...")`` opens a plaintext HTTP/2 channel; pass
    ``credentials=grpc.ssl_channel_credentials()`` for TLS, or ``channel=`` for your own.
    """

    def __init__(self, target: Optional[str] = None, *, token: Union[str, Callable[[], str], None] = None,
                 credentials: Optional[grpc.ChannelCredentials] = None, channel: Optional[grpc.Channel] = None):
        if channel is None:
            if target is None:
                raise ValueError("OmaClient needs a target or a channel")
            options = list(CHANNEL_OPTIONS)
            channel = grpc.secure_channel(target, credentials, options) if credentials else grpc.insecure_channel(target, options)
        self._raw_channel = channel
        if token:
            channel = grpc.intercept_channel(channel, _BearerToken(token))
        self.channel = channel
        self.sessions = session_service_pb2_grpc.SessionServiceStub(channel)
        self.harness = harness_service_pb2_grpc.HarnessServiceStub(channel)
        self.sandboxes = sandbox_service_pb2_grpc.SandboxServiceStub(channel)
        self.server_info = server_info_service_pb2_grpc.ServerInfoServiceStub(channel)
        self.tokens = token_service_pb2_grpc.TokenServiceStub(channel)

    def close(self) -> None:
        self._raw_channel.close()

    def __enter__(self) -> "OmaClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def emit(self, session_id: str, event: event_pb2.Event, *, idempotency_key: Optional[str] = None,
             expected_head_seq: Optional[int] = None, lease_epoch: Optional[int] = None,
             max_attempts: int = DEFAULT_EMIT_ATTEMPTS, backoff: Backoff = Backoff(),
             timeout: float = DEFAULT_EMIT_ATTEMPT_TIMEOUT_S) -> session_service_pb2.EmitEventResponse:
        """Appends one event, retrying transport faults with one idempotency key (SESS-3):
        a retry of an append the server already acknowledged returns the original event with
        ``duplicate`` set. An answer with an OMA reason is raised at once as OmaRpcError.

        Each attempt waits up to ``timeout`` seconds for the channel to be ready (gRPC
        wait-for-ready) rather than failing at once while the server restarts: with
        grpcio 1.51, a loop of fail-fast calls took over 10 s to reach a restarted server,
        a waiting call about one second."""
        request = session_service_pb2.EmitEventRequest(session_id=session_id, event=event,
                                                       idempotency_key=idempotency_key or new_idempotency_key())
        with_guards(request, expected_head_seq, lease_epoch)
        return call_with_retries(self.sessions.EmitEvent, request, max_attempts=max_attempts, backoff=backoff, timeout=timeout)

    def emit_batch(self, session_id: str, events: Sequence[event_pb2.Event], *, idempotency_key: Optional[str] = None,
                   expected_head_seq: Optional[int] = None, lease_epoch: Optional[int] = None,
                   max_attempts: int = DEFAULT_EMIT_ATTEMPTS, backoff: Backoff = Backoff(),
                   timeout: float = DEFAULT_EMIT_ATTEMPT_TIMEOUT_S) -> session_service_pb2.EmitEventsResponse:
        """Appends events as one atomic batch (EmitEvents, SESS-4) with the retry rules of
        ``emit``; the idempotency key covers the batch."""
        request = session_service_pb2.EmitEventsRequest(session_id=session_id, events=list(events),
                                                        idempotency_key=idempotency_key or new_idempotency_key())
        with_guards(request, expected_head_seq, lease_epoch)
        return call_with_retries(self.sessions.EmitEvents, request, max_attempts=max_attempts, backoff=backoff, timeout=timeout)

    def open_appender(self, *, max_attempts: int = DEFAULT_EMIT_ATTEMPTS, backoff: Backoff = Backoff(),
                      timeout: float = DEFAULT_EMIT_ATTEMPT_TIMEOUT_S,
                      on_resend: Optional[Callable[[int, BaseException], None]] = None) -> "Appender":
        """An Appender on this client's channel (see oma_client.append.Appender): appends over
        one AppendEvents stream; ``max_attempts``, ``backoff`` and ``timeout`` are the retry
        rules of the EmitEvents calls that resend what a broken stream left unanswered."""
        from .append import Appender
        return Appender(self, max_attempts=max_attempts, backoff=backoff, timeout=timeout, on_resend=on_resend)

    def watch(self, session_id: str, *, after_seq: int = 0, backoff: Backoff = Backoff(),
              max_consecutive_failures: Optional[int] = None,
              on_caught_up: Optional[Callable[[int], None]] = None,
              on_reconnect: Optional[Callable[[int, int, Optional[BaseException]], None]] = None,
              stop: Optional[threading.Event] = None,
              idle_timeout_s: Optional[float] = DEFAULT_WATCH_IDLE_TIMEOUT_S) -> Iterator[event_pb2.Event]:
        """Yields every event after ``after_seq``, then live ones, each seq once and in order
        across reconnects (SESS-12). A broken stream (server restart, network fault,
        RESOURCE_EXHAUSTED / WATCHER_TOO_SLOW) is reopened with backoff after the last seq
        yielded; answers such as NOT_FOUND or INVALID_ARGUMENT are raised as OmaRpcError.
        Setting ``stop`` (or closing the generator) ends it. Retries without limit unless
        ``max_consecutive_failures`` is given. A stream silent (no event, no heartbeat) for
        ``idle_timeout_s`` is taken as a dead connection and reopened (None: never)."""
        last, failures = after_seq, 0
        while not (stop and stop.is_set()):
            request = session_service_pb2.WatchEventsRequest(session_id=session_id, after_seq=last)
            # Wait-for-ready: the stream waits for the server to be back instead of failing at
            # once (with grpcio 1.51 a loop of fail-fast calls took 10 s and more to reach a
            # restarted server).
            stream = self.sessions.WatchEvents(request, wait_for_ready=True)
            cause: Optional[BaseException] = None
            watchdog = _IdleWatchdog(stream, idle_timeout_s, stop)
            try:
                for res in stream:
                    watchdog.touch()
                    failures = 0
                    kind = res.WhichOneof("message")
                    if kind == "caught_up" and on_caught_up:
                        on_caught_up(res.caught_up.head_seq)
                    if kind != "event" or res.event.seq <= last:
                        continue
                    if res.event.seq != last + 1:
                        cause = RuntimeError(f"watch skipped from seq {last} to {res.event.seq}; resuming")
                        break
                    last = res.event.seq
                    # The caller's time with the event does not count as silence of the stream.
                    watchdog.paused = True
                    yield res.event
                    watchdog.touch()
                    watchdog.paused = False
                    if stop and stop.is_set():
                        return
            except grpc.RpcError as err:
                if stop and stop.is_set():
                    return
                if watchdog.fired:
                    cause = TimeoutError(f"watch stream silent for {idle_timeout_s} s; reopening")
                elif not _should_reconnect(err):
                    raise OmaRpcError.wrap(err) from err
                else:
                    cause = err
            finally:
                watchdog.stop()
                stream.cancel()
            failures += 1
            if max_consecutive_failures is not None and failures > max_consecutive_failures:
                if isinstance(cause, grpc.RpcError):
                    raise OmaRpcError.wrap(cause) from cause
                raise RuntimeError("watch stream kept ending") from cause
            if on_reconnect:
                on_reconnect(failures, last, cause)
            if (stop or threading.Event()).wait(backoff.delay(failures - 1)):
                return


def call_with_retries(call, request, *, max_attempts: int, backoff: Backoff, timeout: float):
    """Calls a unary ``call`` until it succeeds, fails with an answer (an error that is not
    transient, raised as OmaRpcError) or the attempts run out. Each attempt waits up to
    ``timeout`` seconds, for the channel to be ready too (gRPC wait-for-ready)."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return call(request, timeout=timeout, wait_for_ready=True)
        except grpc.RpcError as err:
            if attempt >= max_attempts or not is_transient(err):
                raise OmaRpcError.wrap(err) from err
            threading.Event().wait(backoff.delay(attempt - 1))


class _IdleWatchdog:
    """Cancels a stream that delivers nothing for ``timeout_s``, or at once when ``stop`` is
    set, so a watch blocked waiting for the next event ends promptly (one thread per stream)."""

    def __init__(self, stream, timeout_s: Optional[float], stop: Optional[threading.Event]):
        self.fired = False
        self.paused = False
        self._stream, self._timeout_s, self._stop = stream, timeout_s, stop
        self._last = time.monotonic()
        self._done = threading.Event()
        if (timeout_s is not None and timeout_s > 0) or stop is not None:
            threading.Thread(target=self._run, daemon=True).start()

    def touch(self) -> None:
        self._last = time.monotonic()

    def stop(self) -> None:
        self._done.set()

    def _run(self) -> None:
        # Polls at most every 50 ms for `stop`, else every quarter of the timeout (≤ 1 s).
        timeout_s = self._timeout_s if self._timeout_s and self._timeout_s > 0 else None
        poll_s = 0.05 if self._stop is not None else min(1.0, timeout_s / 4)
        while not self._done.wait(poll_s):
            if self._stop is not None and self._stop.is_set():
                self._stream.cancel()
                return
            if timeout_s is not None and not self.paused and time.monotonic() - self._last > timeout_s:
                self.fired = True
                self._stream.cancel()
                return


def _should_reconnect(err: grpc.RpcError) -> bool:
    if is_transient(err):
        return True
    info = error_info(err)
    if info.code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        return info.reason == "WATCHER_TOO_SLOW"
    return info.code == grpc.StatusCode.CANCELLED
