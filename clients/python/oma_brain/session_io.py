"""A brain's calls to SessionService: its copy of the log, its appends (each with the lease
epoch and an idempotency key), the lease renewals and the interrupt watch."""
from __future__ import annotations

import threading
import time
from typing import Callable, List, Optional, Sequence, TypeVar

import grpc
from google.protobuf import duration_pb2

from oma_client import OmaClient, is_transient, reason_of
from oma.v1 import event_pb2, session_service_pb2

from .stop_signal import Fenced, StopSignal

T = TypeVar("T")
# Per-call deadline: a hung connection becomes DEADLINE_EXCEEDED and is retried.
CALL_TIMEOUT_S = 30.0
# Attempts of a call that is safe to repeat while the server is unreachable (about 6 s in all).
TRANSIENT_ATTEMPTS = 6
READ_PAGE = 1000


def retry_transient(call: Callable[[], T]) -> T:
    """Repeats a read, or a write with an idempotency key, while it fails with a transient
    transport fault (the server restarting, a reset connection); anything else is raised."""
    for attempt in range(1, TRANSIENT_ATTEMPTS + 1):
        try:
            return call()
        except grpc.RpcError as err:
            if attempt >= TRANSIENT_ATTEMPTS or not is_transient(err):
                raise
            time.sleep(0.2 * 2 ** (attempt - 1))
    raise AssertionError("unreachable")


class LogCopy:
    """The brain's copy of the log: read with GetEvents, then topped up after its last seq."""

    def __init__(self, oma: OmaClient, session_id: str):
        self._oma, self._session_id = oma, session_id
        self.events: List[event_pb2.Event] = []

    @property
    def head_seq(self) -> int:
        return self.events[-1].seq if self.events else 0

    def refresh(self) -> None:
        while True:
            req = session_service_pb2.GetEventsRequest(session_id=self._session_id, after_seq=self.head_seq, limit=READ_PAGE)
            res = retry_transient(lambda: self._oma.sessions.GetEvents(req, timeout=CALL_TIMEOUT_S))
            self.add(res.events)
            if not res.events or self.head_seq >= res.head_seq:
                return

    def add(self, events: Sequence[event_pb2.Event]) -> None:
        """Adds events the brain appended itself (they follow the head it holds)."""
        for e in events:
            if e.seq == self.head_seq + 1:
                self.events.append(e)


class Writer:
    """Every append of one brain (HARN-17, HARN-18): the lease epoch on each, an idempotency
    key derived from what it records, retried under that key; LEASE_LOST fences the brain."""

    def __init__(self, oma: OmaClient, session_id: str, epoch: int, stop: StopSignal):
        self._oma, self.session_id, self.epoch, self._stop = oma, session_id, epoch, stop

    def emit(self, events: Sequence[event_pb2.Event], key: str, expected_head_seq: Optional[int] = None) -> Optional[List[event_pb2.Event]]:
        """Appends atomically; with ``expected_head_seq``, HEAD_SEQ_MISMATCH returns None."""
        if self._stop.fenced:
            raise Fenced("lease lost")
        req = session_service_pb2.EmitEventsRequest(session_id=self.session_id, events=list(events), idempotency_key=key, lease_epoch=self.epoch)
        if expected_head_seq is not None:
            req.expected_head_seq = expected_head_seq
        try:
            return list(retry_transient(lambda: self._oma.sessions.EmitEvents(req, timeout=CALL_TIMEOUT_S)).events)
        except grpc.RpcError as err:
            reason = reason_of(err)
            if reason in ("LEASE_LOST", "SESSION_TERMINATED", "SESSION_NOT_FOUND"):
                self._stop.fence()
                raise Fenced(f"lease epoch {self.epoch} of {self.session_id}: {reason}") from err
            if reason == "HEAD_SEQ_MISMATCH" and expected_head_seq is not None:
                return None
            raise


class SessionCredential:
    """The bearer token a brain works with (SEC-7): its assignment's session token, replaced
    by the fresh one each RenewLease returns; the worker's own token when the server issues
    none (a server without authentication sends none, and then no token is sent at all)."""

    def __init__(self, initial: str):
        self.token = initial

    def renewed(self, fresh: str) -> None:
        if fresh:
            self.token = fresh


class LeaseKeeper(threading.Thread):
    """Renews the lease as the brain starts, then every third of its TTL (HARN-17); LEASE_LOST
    fences the brain. The first renewal is at once: the lease was granted at the Wake, and the
    assignment's trip to this worker must not come out of the brain's first TTL. A transient
    failure is retried at the next tick: two missed ticks still leave a third. Each
    renewal's fresh session token goes to ``credential``."""

    def __init__(self, oma: OmaClient, session_id: str, epoch: int, ttl_s: float, stop: StopSignal, credential: SessionCredential):
        super().__init__(daemon=True, name=f"lease-{session_id}")
        # Not ``_stop``: threading.Thread has a method of that name, which join() calls.
        self._oma, self._session_id, self._epoch, self._ttl_s, self._signal = oma, session_id, epoch, ttl_s, stop
        self._credential = credential
        self._done = threading.Event()

    def run(self) -> None:
        ttl = duration_pb2.Duration()
        ttl.FromMilliseconds(int(self._ttl_s * 1000))
        req = session_service_pb2.RenewLeaseRequest(session_id=self._session_id, epoch=self._epoch, ttl=ttl)
        while not self._done.is_set():
            try:
                res = self._oma.sessions.RenewLease(req, timeout=max(1.0, self._ttl_s / 3))
                self._credential.renewed(res.session_token)
            except grpc.RpcError as err:
                if not self._done.is_set() and reason_of(err) in ("LEASE_LOST", "SESSION_NOT_FOUND", "SESSION_TERMINATED"):
                    self._signal.fence()
                    return
            self._done.wait(max(0.1, self._ttl_s / 3))

    def finish(self) -> None:
        self._done.set()


def watch_for_interrupt(oma: OmaClient, session_id: str, after_seq: int, stop: StopSignal, done: threading.Event) -> threading.Thread:
    """Raises ``stop.interrupt()`` on each user_interrupt after ``after_seq`` while the brain works."""

    def run() -> None:
        try:
            for event in oma.watch(session_id, after_seq=after_seq, stop=done, idle_timeout_s=None):
                if event.WhichOneof("payload") == "user_interrupt":
                    stop.interrupt()
        except Exception:  # noqa: BLE001 - the session went away; the brain finds out on its next call
            pass

    thread = threading.Thread(target=run, daemon=True, name=f"interrupts-{session_id}")
    thread.start()
    return thread
