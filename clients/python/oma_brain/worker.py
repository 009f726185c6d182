"""A worker process (HARN-3, HARN-16): holds ConnectWorker open, reconnecting when it
breaks, and runs one brain thread per assignment."""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import Callable, Optional, Set, Union
from urllib.parse import urlsplit

import grpc

from oma_client import OmaClient
from oma.v1 import harness_service_pb2

from .brain import Assignment, Brain
from .model import MessagesClient, RetryPolicy
from .session_io import SessionCredential

RECONNECT_MIN_S, RECONNECT_MAX_S = 0.1, 5.0
# A stream with no message for this long is reopened (the server heartbeats every few seconds).
SILENCE_LIMIT_S = 20.0
MIN_TTL_S, MAX_TTL_S = 1.0, 600.0

log = logging.getLogger("oma_brain")


def connect(server: str, token: Union[str, Callable[[], str], None] = None) -> OmaClient:
    """The one place a client to the server is made: ``server`` is a URL (http://host:port)
    or host:port; a bearer token (or a function giving the current one), when given, goes
    with every call."""
    url = urlsplit(server if "://" in server else f"http://{server}")
    target = f"{url.hostname}:{url.port or (443 if url.scheme == 'https' else 80)}"
    credentials = grpc.ssl_channel_credentials() if url.scheme == "https" else None
    return OmaClient(target, token=token, credentials=credentials)


def lease_ttl_s(assignment: harness_service_pb2.WorkAssignment, now: Optional[float] = None) -> float:
    """The TTL to renew with: the one the server granted (lease_ttl), in SESS-16's bounds. A
    server that does not send it is older; then the time left on the lease by this host's
    clock, rounded to 0.1 s."""
    if assignment.HasField("lease_ttl"):
        granted = assignment.lease_ttl.ToMilliseconds() / 1000
    elif assignment.HasField("lease_expire_time"):
        granted = round((assignment.lease_expire_time.ToMilliseconds() / 1000 - (time.time() if now is None else now)) * 10) / 10
    else:
        granted = 30.0
    return min(MAX_TTL_S, max(MIN_TTL_S, granted))


class Worker:
    def __init__(self, server: str, worker_id: str, capacity: int, token: Optional[str] = None, policy: RetryPolicy = RetryPolicy()):
        self.server, self.token = server, token
        # The worker token opens ConnectWorker; each brain gets a client of its own (below).
        self.oma = connect(server, token)
        self.worker_id, self.capacity, self.policy = worker_id, capacity, policy
        self.model = MessagesClient()
        self.stopping = threading.Event()
        self._running: Set[threading.Thread] = set()

    def run(self) -> None:
        backoff = RECONNECT_MIN_S
        labels = {"host": socket.gethostname(), "pid": str(os.getpid()), "runtime": "python"}
        while not self.stopping.is_set():
            req = harness_service_pb2.ConnectWorkerRequest(worker_id=self.worker_id, capacity=self.capacity, labels=labels)
            stream = self.oma.harness.ConnectWorker(req, wait_for_ready=True)
            silence = _Silence(stream, SILENCE_LIMIT_S)
            try:
                greeted = False
                for msg in stream:
                    silence.touch()
                    if not greeted:
                        greeted, backoff = True, RECONNECT_MIN_S
                        log.info("worker %s connected (capacity %d)", self.worker_id, self.capacity)
                    if msg.WhichOneof("message") == "assignment":
                        self._start(msg.assignment)
            except grpc.RpcError as err:
                if self.stopping.is_set():
                    break
                log.warning("worker stream broke (%s); reconnecting in %.1f s", err.code() if hasattr(err, "code") else err, backoff)
            finally:
                silence.stop()
                stream.cancel()
            self.stopping.wait(backoff)
            backoff = min(RECONNECT_MAX_S, backoff * 2)

    def _start(self, a: harness_service_pb2.WorkAssignment) -> None:
        assignment = Assignment(a.harness_id, a.session_id, a.lease_epoch, lease_ttl_s(a))
        log.info("assignment %s on %s (epoch %d)", a.harness_id, a.session_id, a.lease_epoch)

        def run() -> None:
            credential = SessionCredential(a.session_token or self.token or "")
            oma = connect(self.server, (lambda: credential.token) if credential.token else None)
            try:
                end = Brain(oma, credential, self.model, self.policy, self.worker_id, assignment).run()
                log.info("brain %s on %s finished: %s", a.harness_id, a.session_id, end)
            finally:
                oma.close()
                self._running.discard(threading.current_thread())

        thread = threading.Thread(target=run, daemon=True, name=f"brain-{a.session_id}")
        self._running.add(thread)
        thread.start()


class _Silence:
    """Cancels a stream that delivers nothing for ``limit_s`` (a dead connection)."""

    def __init__(self, stream, limit_s: float):
        self._stream, self._limit_s = stream, limit_s
        self._last = time.monotonic()
        self._done = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def touch(self) -> None:
        self._last = time.monotonic()

    def stop(self) -> None:
        self._done.set()

    def _run(self) -> None:
        while not self._done.wait(1.0):
            if time.monotonic() - self._last > self._limit_s:
                self._stream.cancel()
                return
