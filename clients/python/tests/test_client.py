"""Unit tests of the watch reconnect and emit retry logic against an in-process fake server."""
import os
import sys
import threading
import time
import unittest
from concurrent import futures

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import grpc  # noqa: E402
from google.protobuf import any_pb2  # noqa: E402

from oma_client import Backoff, OmaClient, OmaRpcError, user_text  # noqa: E402
from google.rpc import error_details_pb2  # noqa: E402
from oma.v1 import event_pb2, session_service_pb2, session_service_pb2_grpc  # noqa: E402

FAST = Backoff(initial_s=0.001, max_s=0.002)


def _status_bin(code: grpc.StatusCode, reason: str) -> bytes:
    """An encoded google.rpc.Status with one ErrorInfo, as an OMA server sends it."""
    info = error_details_pb2.ErrorInfo(reason=reason, domain="oma.dev", metadata={"k": "v"})
    detail = any_pb2.Any(type_url="type.googleapis.com/google.rpc.ErrorInfo", value=info.SerializeToString())
    body = detail.SerializeToString()
    return bytes([0x08, code.value[0], 0x1A, len(body)]) + body


def abort_with(context, code, reason=None):
    if reason:
        context.set_trailing_metadata((("grpc-status-details-bin", _status_bin(code, reason)),))
    context.abort(code, f"{reason or code.name} (fake)")


class FakeSessions(session_service_pb2_grpc.SessionServiceServicer):
    """Watch streams follow a script: (seqs to send, then (code, reason) to fail with, or None to hang)."""

    def __init__(self, streams=(), emit_failures=0, emit_reason=None):
        self.streams, self.watch_after = list(streams), []
        self.emit_failures, self.emit_reason = emit_failures, emit_reason
        self.emit_keys, self.appended, self.auth = [], {}, []
        self.lock = threading.Lock()

    def WatchEvents(self, request, context):
        with self.lock:
            self.watch_after.append(request.after_seq)
            n = len(self.watch_after)
        if n > len(self.streams):
            abort_with(context, grpc.StatusCode.FAILED_PRECONDITION)
        seqs, failure = self.streams[n - 1]
        for seq in seqs:
            yield session_service_pb2.WatchEventsResponse(event=event_pb2.Event(seq=seq))
        if failure is None:
            done = threading.Event()
            context.add_callback(done.set)
            done.wait(10)
            return
        abort_with(context, *failure)

    def EmitEvent(self, request, context):
        with self.lock:
            self.auth.extend(v for k, v in context.invocation_metadata() if k == "authorization")
            self.emit_keys.append(request.idempotency_key)
            duplicate = request.idempotency_key in self.appended
            if not duplicate:
                self.appended[request.idempotency_key] = event_pb2.Event(seq=len(self.appended) + 1)
            attempt = len(self.emit_keys)
        if self.emit_reason:
            abort_with(context, grpc.StatusCode.FAILED_PRECONDITION, self.emit_reason)
        if attempt <= self.emit_failures:  # the append happened; its acknowledgement is lost
            abort_with(context, grpc.StatusCode.UNAVAILABLE)
        return session_service_pb2.EmitEventResponse(event=self.appended[request.idempotency_key], duplicate=duplicate)


def serve_fake(test, fake, **kwargs):
    """A real gRPC server on a free loopback port answering with `fake`, and a client of it; both closed when `test` ends."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    session_service_pb2_grpc.add_SessionServiceServicer_to_server(fake, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    test.addCleanup(server.stop, None)
    client = OmaClient(f"127.0.0.1:{port}", **kwargs)
    test.addCleanup(client.close)
    return client


class ClientTest(unittest.TestCase):
    def start(self, fake, **kwargs):
        return serve_fake(self, fake, **kwargs)

    def test_watch_resumes_after_unavailable_and_watcher_too_slow(self):
        """SESS-12/SESS-13: no gap, no duplicate, each reconnect after the last seq yielded."""
        fake = FakeSessions([
            ([1, 2, 3], (grpc.StatusCode.UNAVAILABLE, None)),
            ([4, 5, 5, 4], (grpc.StatusCode.RESOURCE_EXHAUSTED, "WATCHER_TOO_SLOW")),
            ([6, 8], None),
            ([7, 8], None),
        ])
        client = self.start(fake)
        seqs = []
        for event in client.watch("ses_p", backoff=FAST):
            seqs.append(event.seq)
            if event.seq == 8:
                break
        self.assertEqual(seqs, [1, 2, 3, 4, 5, 6, 7, 8])
        self.assertEqual(fake.watch_after, [0, 3, 5, 6])

    def test_watch_reopens_a_silent_stream_after_the_last_seq(self):
        fake = FakeSessions([([1], None), ([2], None)])
        client = self.start(fake)
        causes, seqs = [], []
        for event in client.watch("ses_p", backoff=FAST, idle_timeout_s=0.2, on_reconnect=lambda n, after, cause: causes.append(cause)):
            seqs.append(event.seq)
            if event.seq == 2:
                break
        self.assertEqual(seqs, [1, 2])
        self.assertEqual(fake.watch_after, [0, 1])
        self.assertEqual([type(c) for c in causes], [TimeoutError])

    def test_the_callers_time_with_an_event_is_not_silence_of_the_stream(self):
        fake = FakeSessions([([1, 2], None)])
        client = self.start(fake)
        seqs = []
        for event in client.watch("ses_p", backoff=FAST, idle_timeout_s=0.05):
            seqs.append(event.seq)
            time.sleep(0.2)
            if event.seq == 2:
                break
        self.assertEqual(seqs, [1, 2])
        self.assertEqual(len(fake.watch_after), 1)

    def test_stop_ends_a_watch_that_waits_for_the_next_event(self):
        fake = FakeSessions([([1], None)])
        client = self.start(fake)
        stop = threading.Event()
        seqs = []
        for event in client.watch("ses_p", stop=stop):
            seqs.append(event.seq)
            threading.Timer(0.1, stop.set).start()
        self.assertEqual(seqs, [1])
        self.assertEqual(len(fake.watch_after), 1)

    def test_watch_gives_up_on_not_found_with_the_reason(self):
        fake = FakeSessions([([1], (grpc.StatusCode.NOT_FOUND, "SESSION_NOT_FOUND")), ([2], None)])
        client = self.start(fake)
        seqs = []
        with self.assertRaises(OmaRpcError) as caught:
            for event in client.watch("ses_p", backoff=FAST):
                seqs.append(event.seq)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.NOT_FOUND)
        self.assertEqual(caught.exception.reason, "SESSION_NOT_FOUND")
        self.assertEqual(caught.exception.metadata, {"k": "v"})
        self.assertEqual(seqs, [1])
        self.assertEqual(len(fake.watch_after), 1)

    def test_emit_retries_under_one_key_and_sends_the_token(self):
        """SESS-3: the lost acknowledgements are retried with the same key; one event in the log."""
        fake = FakeSessions(emit_failures=2)
        client = self.start(fake, token="tok-py")
        res = client.emit("ses_p", user_text("hi"), backoff=FAST)
        self.assertEqual(len(fake.emit_keys), 3)
        self.assertEqual(len(set(fake.emit_keys)), 1)
        self.assertTrue(fake.emit_keys[0])
        self.assertEqual(len(fake.appended), 1)
        self.assertTrue(res.duplicate)
        self.assertEqual(fake.auth[0], "Bearer tok-py")
        client.emit("ses_p", user_text("hi"))
        self.assertEqual(len(fake.appended), 2, "a second logical call gets its own key")

    def test_emit_does_not_retry_an_answer(self):
        fake = FakeSessions(emit_reason="HEAD_SEQ_MISMATCH")
        client = self.start(fake)
        with self.assertRaises(OmaRpcError) as caught:
            client.emit("ses_p", user_text("hi"), expected_head_seq=7, backoff=FAST)
        self.assertEqual(caught.exception.reason, "HEAD_SEQ_MISMATCH")
        self.assertEqual(len(fake.emit_keys), 1)


if __name__ == "__main__":
    unittest.main()
