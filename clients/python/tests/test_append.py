"""Unit tests of the Appender's resend and refusal logic against an in-process fake server."""
import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import grpc  # noqa: E402

from oma_client import AppenderClosed, OmaRpcError  # noqa: E402
from oma.v1 import event_pb2, session_service_pb2, session_service_pb2_grpc  # noqa: E402
from test_client import FAST, abort_with, serve_fake  # noqa: E402


def custom(kind: str) -> event_pb2.Event:
    return event_pb2.Event(custom=event_pb2.CustomEvent(type=kind))


class FakeLog(session_service_pb2_grpc.SessionServiceServicer):
    """AppendEvents applies each request and acknowledges it, except the one numbered
    ``break_at``: applied, then the stream breaks (a lost acknowledgement). A request with
    an expected head is refused. EmitEvents applies under the same idempotency keys."""

    def __init__(self, break_at=0):
        self.break_at, self.log, self.by_key, self.auth = break_at, [], {}, []
        self.streams = self.emits = 0
        self.lock = threading.Lock()

    def apply(self, key, events):
        with self.lock:
            if key in self.by_key:
                return self.by_key[key], True
            stored = []
            for event in events:
                self.log.append(event.custom.type)
                stored.append(event_pb2.Event(seq=len(self.log), custom=event.custom))
            self.by_key[key] = stored
            return stored, False

    def AppendEvents(self, request_iterator, context):
        with self.lock:
            self.streams += 1
            self.auth.extend(v for k, v in context.invocation_metadata() if k == "authorization")
        for n, request in enumerate(request_iterator, 1):
            if request.HasField("expected_head_seq"):
                abort_with(context, grpc.StatusCode.FAILED_PRECONDITION, "HEAD_SEQ_MISMATCH")
            events, duplicate = self.apply(request.idempotency_key, request.events)
            if n == self.break_at:
                abort_with(context, grpc.StatusCode.UNAVAILABLE)
            yield session_service_pb2.AppendEventsResponse(events=events, duplicate=duplicate)

    def EmitEvents(self, request, context):
        with self.lock:
            self.emits += 1
        events, duplicate = self.apply(request.idempotency_key, request.events)
        return session_service_pb2.EmitEventsResponse(events=events, duplicate=duplicate)


class AppenderTest(unittest.TestCase):
    def start(self, fake, **kwargs):
        return serve_fake(self, fake, **kwargs)

    def test_what_a_broken_stream_left_unanswered_is_sent_again_once_in_order(self):
        """SESS-22, SESS-3: every append written once, in call order, each answered with its own batch."""
        fake = FakeLog(break_at=10)
        resends = []
        with self.start(fake, token="tok-py").open_appender(backoff=FAST, on_resend=lambda n, cause: resends.append(n)) as appender:
            pending = [appender.submit("ses_p", [custom(f"e{i}")]) for i in range(50)]
            acks = [f.result() for f in pending]
        self.assertEqual([a.events[0].custom.type for a in acks], [f"e{i}" for i in range(50)])
        self.assertEqual([a.events[0].seq for a in acks], list(range(1, 51)))
        self.assertEqual(fake.log, [f"e{i}" for i in range(50)])
        self.assertTrue(acks[9].duplicate, "the append whose acknowledgement was lost is answered as a duplicate")
        self.assertTrue(resends and fake.emits > 0, (resends, fake.emits))
        self.assertEqual(fake.auth[0], "Bearer tok-py")

    def test_a_refused_append_raises_and_the_rest_stand(self):
        fake = FakeLog()
        appender = self.start(fake).open_appender(backoff=FAST)
        appender.append("ses_p", [custom("first")])
        with self.assertRaises(OmaRpcError) as refused:
            appender.append("ses_p", [custom("stale")], expected_head_seq=0)
        self.assertEqual(refused.exception.reason, "HEAD_SEQ_MISMATCH")
        self.assertEqual(appender.append("ses_p", [custom("after")]).events[0].seq, 2)
        appender.close()
        self.assertEqual((fake.log, fake.streams), (["first", "after"], 2))
        with self.assertRaises(AppenderClosed):
            appender.append("ses_p", [custom("late")])


class QuietLog(FakeLog):
    """Takes appends on its stream (durable) and never answers them: a connection that died
    without a word. Notes when the client cancels the stream."""

    def __init__(self):
        super().__init__()
        self.cancelled = threading.Event()

    def AppendEvents(self, request_iterator, context):
        with self.lock:
            self.streams += 1
        context.add_callback(self.cancelled.set)
        for request in request_iterator:
            self.apply(request.idempotency_key, request.events)
        return iter(())


class QuietStreamTest(unittest.TestCase):
    def test_a_stream_quiet_past_the_timeout_is_cancelled_and_its_appends_sent_again_once(self):
        fake = QuietLog()
        started = time.monotonic()
        with serve_fake(self, fake).open_appender(backoff=FAST, timeout=0.2) as appender:
            pending = [appender.submit("ses_q", [custom(f"q{i}")]) for i in range(3)]
            acks = [f.result(timeout=10) for f in pending]
        self.assertGreaterEqual(time.monotonic() - started, 0.2)
        self.assertTrue(fake.cancelled.wait(5), "the quiet stream was never cancelled")
        self.assertEqual(fake.log, ["q0", "q1", "q2"])
        self.assertEqual([a.events[0].seq for a in acks], [1, 2, 3])
        self.assertEqual((fake.streams, fake.emits), (1, 3))


if __name__ == "__main__":
    unittest.main()
