"""Many appends over one AppendEvents stream (SESS-22), for writers that append a lot."""
from __future__ import annotations

import collections
import queue
import threading
import time
from concurrent.futures import Future
from typing import Callable, Deque, Iterator, List, Optional, Sequence

from . import _gen_path  # noqa: F401
from .backoff import Backoff
from .client import OmaClient, new_idempotency_key, with_guards
from .errors import OmaRpcError, reason_of
from oma.v1 import event_pb2, session_service_pb2


class AppenderClosed(RuntimeError):
    """Raised by ``submit`` and ``append`` after ``close``."""


class _Pending:
    __slots__ = ("request", "future", "sent_at")

    def __init__(self, request: session_service_pb2.AppendEventsRequest, future: Future):
        self.request, self.future = request, future
        self.sent_at = 0.0  # time.monotonic() when it went on a stream


class _Stream:
    """One AppendEvents call: the requests still to go out, and those sent but not yet answered."""

    def __init__(self, lock: threading.Lock) -> None:
        self.requests: "queue.SimpleQueue[Optional[session_service_pb2.AppendEventsRequest]]" = queue.SimpleQueue()
        self.pending: Deque[_Pending] = collections.deque()
        self.responses = None
        self.ended = False
        # Told when the first unanswered append arrives and when the stream ends (under the appender's lock).
        self.changed = threading.Condition(lock)

    def request_iterator(self) -> Iterator[session_service_pb2.AppendEventsRequest]:
        while True:
            request = self.requests.get()
            if request is None:
                return
            yield request


class Appender:
    """Appends over one AppendEvents stream: each append is sent at once, without waiting for
    the ones before, and acknowledged in order once durable. Thread-safe; appends are sent in
    the order of the calls. Every append carries an idempotency key, so when the stream breaks
    the appends it left unanswered are sent again with EmitEvents (``OmaClient.emit_batch``),
    in order, and none is written twice (SESS-3); the next append after them opens a new
    stream. An append the server refused raises the server's error as OmaRpcError. Each
    append's acknowledgement is due within ``timeout``: a stream that stays quiet past it (a
    connection that died without a word) is cancelled and treated as broken.

    Open one with ``OmaClient.open_appender()``; use it as a context manager, or call
    ``close()``. ``append`` waits for the acknowledgement; ``submit`` returns a Future of it,
    so one thread can keep many appends in flight."""

    def __init__(self, client: OmaClient, *, max_attempts: int, backoff: Backoff, timeout: float,
                 on_resend: Optional[Callable[[int, BaseException], None]] = None):
        self._client = client
        self._retry = {"max_attempts": max_attempts, "backoff": backoff, "timeout": timeout}
        self._on_resend = on_resend
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._stream: Optional[_Stream] = None
        self._resend_queue: Deque[_Pending] = collections.deque()
        self._resending = False
        self._closed = False
        self._workers = 0

    def __enter__(self) -> "Appender":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def append(self, session_id: str, events: Sequence[event_pb2.Event], *, idempotency_key: Optional[str] = None,
               expected_head_seq: Optional[int] = None, lease_epoch: Optional[int] = None) -> session_service_pb2.AppendEventsResponse:
        """Appends ``events`` as one atomic batch and returns its acknowledgement once durable."""
        return self.submit(session_id, events, idempotency_key=idempotency_key, expected_head_seq=expected_head_seq,
                           lease_epoch=lease_epoch).result()

    def submit(self, session_id: str, events: Sequence[event_pb2.Event], *, idempotency_key: Optional[str] = None,
               expected_head_seq: Optional[int] = None,
               lease_epoch: Optional[int] = None) -> "Future[session_service_pb2.AppendEventsResponse]":
        """Sends ``events`` as one atomic batch and returns a Future of its acknowledgement.
        ``expected_head_seq`` (SESS-2) is checked after every earlier append of the Appender;
        ``lease_epoch`` as in EmitEvents (SESS-10); the key, if not given, is a new random one."""
        request = session_service_pb2.AppendEventsRequest(session_id=session_id, events=list(events),
                                                          idempotency_key=idempotency_key or new_idempotency_key())
        with_guards(request, expected_head_seq, lease_epoch)
        future: Future = Future()
        future.set_running_or_notify_cancel()  # once sent, an append cannot be taken back
        pending = _Pending(request, future)
        with self._lock:
            if self._closed:
                raise AppenderClosed("appender closed")
            if self._resending:
                # Behind the appends waiting to be sent again, to keep the order.
                self._resend_queue.append(pending)
                return future
            if self._stream is None:
                self._stream = self._open_locked()
            pending.sent_at = time.monotonic()
            self._stream.pending.append(pending)
            if len(self._stream.pending) == 1:
                self._stream.changed.notify_all()
            self._stream.requests.put(request)
        return future

    def close(self) -> None:
        """Waits until every append made before it is answered, then ends the stream."""
        with self._lock:
            self._closed = True
            if self._stream is not None:
                # The server answers what it has, then ends the stream.
                self._stream.requests.put(None)
            self._idle.wait_for(lambda: self._workers == 0)

    def _open_locked(self) -> _Stream:
        stream = _Stream(self._lock)
        # Fail fast: while the server is unreachable the stream breaks at once and its
        # appends go through emit_batch, whose retries wait for the channel to be ready.
        stream.responses = self._client.sessions.AppendEvents(stream.request_iterator())
        self._start_locked(self._receive, stream, stream.responses)
        self._start_locked(self._watch, stream)
        return stream

    def _watch(self, stream: _Stream) -> None:
        """Cancels the stream when its oldest unanswered append's acknowledgement is overdue."""
        timeout = self._retry["timeout"]
        with self._lock:
            while not stream.ended:
                if not stream.pending:
                    stream.changed.wait()
                    continue
                left = stream.pending[0].sent_at + timeout - time.monotonic()
                if left <= 0:
                    stream.responses.cancel()
                    return
                # An ack meanwhile makes a later append the oldest; looked at again when this one is due.
                stream.changed.wait(left)

    def _start_locked(self, target, *args) -> None:
        self._workers += 1
        threading.Thread(target=self._run_worker, args=(target, *args), daemon=True).start()

    def _run_worker(self, target, *args) -> None:
        try:
            target(*args)
        finally:
            with self._lock:
                self._workers -= 1
                self._idle.notify_all()

    def _receive(self, stream: _Stream, responses) -> None:
        """Answers the appends of one stream in order; hands what it leaves unanswered on to
        be sent again."""
        cause: Optional[BaseException] = None
        try:
            for ack in responses:
                with self._lock:
                    pending = stream.pending.popleft() if stream.pending else None
                if pending is not None:
                    pending.future.set_result(ack)
        except Exception as err:  # noqa: BLE001 - any end of the stream leaves its unanswered appends to resend
            cause = err
        # Ends gRPC's read of the request iterator, if the stream broke while it waited.
        stream.requests.put(None)
        refused: Optional[_Pending] = None
        with self._lock:
            stream.ended = True
            stream.changed.notify_all()
            if self._stream is stream:
                self._stream = None
            unanswered: List[_Pending] = list(stream.pending)
            stream.pending.clear()
            if cause is not None and reason_of(cause) and unanswered:
                # The server refused the first unanswered append; the ones after it may or may
                # not be applied (SESS-22) and are sent again under their keys.
                refused = unanswered.pop(0)
            if unanswered:
                self._resend_locked(unanswered, cause or RuntimeError("AppendEvents stream ended with appends unanswered"))
        if refused is not None:
            refused.future.set_exception(OmaRpcError.wrap(cause))

    def _resend_locked(self, unanswered: List[_Pending], cause: BaseException) -> None:
        if self._on_resend is not None:
            self._on_resend(len(unanswered), cause)
        self._resend_queue.extend(unanswered)
        if not self._resending:
            self._resending = True
            self._start_locked(self._resend_all)

    def _resend_all(self) -> None:
        while True:
            with self._lock:
                if not self._resend_queue:
                    # From here on, appends go over a new stream.
                    self._resending = False
                    return
                pending = self._resend_queue.popleft()
            request = pending.request
            try:
                res = self._client.emit_batch(
                    request.session_id, request.events, idempotency_key=request.idempotency_key,
                    expected_head_seq=request.expected_head_seq if request.HasField("expected_head_seq") else None,
                    lease_epoch=request.lease_epoch if request.HasField("lease_epoch") else None, **self._retry)
            except BaseException as err:  # noqa: BLE001 - the caller gets whatever ended its append
                pending.future.set_exception(err)
                continue
            pending.future.set_result(session_service_pb2.AppendEventsResponse(events=res.events, duplicate=res.duplicate))
