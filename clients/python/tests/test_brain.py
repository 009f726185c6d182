"""Unit tests of the Python brain's pure parts, its lease keeper, how it records a result, and its Messages API client (against a local
HTTP server speaking server-sent events); the whole brain is tested by the conformance suite."""
import json
import os
import sys
import threading
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import grpc  # noqa: E402
from google.protobuf import struct_pb2  # noqa: E402

import oma_brain  # noqa: E402,F401  (sets up the generated stubs' path)
from oma.v1 import content_pb2, event_pb2, harness_service_pb2, session_pb2, session_service_pb2  # noqa: E402
from oma_brain.log_state import analyze  # noqa: E402
from oma_brain.model import MessagesClient, RetryPolicy, call_model  # noqa: E402
from oma_brain.prompt import ToolCatalog, build_request, events_to_messages  # noqa: E402
from oma_brain.stop_signal import Interrupted, StopSignal  # noqa: E402
from oma_brain.session_io import LeaseKeeper, SessionCredential  # noqa: E402
from oma_brain.worker import lease_ttl_s  # noqa: E402


def ev(seq, **payload):
    return event_pb2.Event(seq=seq, **payload)


def text(t):
    return [content_pb2.ContentBlock(text=content_pb2.TextBlock(text=t))]


def tool_use(tool_id, name="bash", **fields):
    s = struct_pb2.Struct()
    s.update({"command": "echo hi"})
    return event_pb2.ToolUse(tool_use_id=tool_id, name=name, input=s, **fields)


class PromptTest(unittest.TestCase):
    def test_log_to_messages_one_result_per_call_results_first(self):
        events = [
            ev(1, user_message=event_pb2.UserMessage(content=text("run it"))),
            ev(2, agent_message=event_pb2.AgentMessage(content=text("ok"))),
            ev(3, tool_use=tool_use("t1")),
            ev(4, status_changed=event_pb2.StatusChanged(status=session_pb2.SESSION_STATUS_IDLE)),
            ev(5, user_message=event_pb2.UserMessage(content=text("and?"))),
            ev(6, tool_result=event_pb2.ToolResult(tool_use_id="t1", output="hi", is_error=False)),
            ev(7, custom_tool_result=event_pb2.CustomToolResult(tool_use_id="t1", output="late twin")),
            ev(8, tool_result=event_pb2.ToolResult(tool_use_id="unknown", output="stray")),
        ]
        messages = events_to_messages(events)
        self.assertEqual([m["role"] for m in messages], ["user", "assistant", "user"])
        self.assertEqual(messages[1]["content"][1], {"type": "tool_use", "id": "t1", "name": "bash", "input": {"command": "echo hi"}})
        self.assertEqual([b["type"] for b in messages[2]["content"]], ["tool_result", "text"])
        self.assertEqual(messages[2]["content"][0]["content"], "hi")

    def test_cache_breakpoints_on_last_tool_system_and_newest_block(self):
        agent = session_pb2.AgentConfig(model="m", system_prompt="be brief")
        catalog = ToolCatalog(agent, [])
        catalog.prompt = [{"name": "a", "description": "", "input_schema": {}}, {"name": "b", "description": "", "input_schema": {}}]
        body = build_request(agent, catalog, [ev(1, user_message=event_pb2.UserMessage(content=text("hi")))], 100)
        self.assertNotIn("cache_control", body["tools"][0])
        self.assertEqual(body["tools"][1]["cache_control"], {"type": "ephemeral"})
        self.assertEqual(body["system"][0]["cache_control"], {"type": "ephemeral"})
        self.assertEqual(body["messages"][-1]["content"][-1]["cache_control"], {"type": "ephemeral"})

    def test_pending_calls_interrupts_and_sandbox(self):
        events = [
            ev(1, user_message=event_pb2.UserMessage(content=text("go"))),
            ev(2, sandbox_provisioned=event_pb2.SandboxProvisioned(sandbox_id="sbx_1")),
            ev(3, tool_use=tool_use("t1")),
            ev(4, tool_use=tool_use("t2", requires_confirmation=True)),
            ev(5, tool_confirmation=event_pb2.ToolConfirmation(tool_use_id="t2", decision=event_pb2.CONFIRMATION_DECISION_DENY)),
            ev(6, tool_result=event_pb2.ToolResult(tool_use_id="t1")),
            ev(7, user_interrupt=event_pb2.UserInterrupt()),
        ]
        state = analyze(events)
        self.assertEqual(state.sandbox_id, "sbx_1")
        self.assertEqual([p.tool_use.tool_use_id for p in state.pending], ["t2"])
        self.assertEqual(state.pending[0].confirmation.decision, event_pb2.CONFIRMATION_DECISION_DENY)
        self.assertTrue(state.interrupted)


class _Model(BaseHTTPRequestHandler):
    """Answers POST /v1/messages from the server's `script`: a list of (status, headers, body or SSE events, a gate to wait for or None)."""

    def log_message(self, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers["content-length"]))
        self.server.seen.append(dict(self.headers))
        status, headers, body, gate = self.server.script.pop(0)
        if gate is not None:
            gate.wait(30)
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        if isinstance(body, list):
            self.send_header("content-type", "text/event-stream")
            self.end_headers()
            for event in body:
                self.wfile.write(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode())
        else:
            data = json.dumps(body).encode()
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)


SSE_TOOL_CALL = [
    {"type": "message_start", "message": {"id": "msg_1", "model": "m", "role": "assistant", "content": [], "usage": {"input_tokens": 7, "output_tokens": 1}}},
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Run"}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "ning."}},
    {"type": "content_block_stop", "index": 0},
    {"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "bash", "input": {}}},
    {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": '{"command": "ec'}},
    {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": 'ho 42"}'}},
    {"type": "content_block_stop", "index": 1},
    {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 12}},
    {"type": "message_stop"},
]


class ModelTest(unittest.TestCase):
    def setUp(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Model)
        self.server.script, self.server.seen = [], []
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.client = MessagesClient(f"http://127.0.0.1:{self.server.server_address[1]}", "test-key-1")

    def tearDown(self):
        self.server.shutdown()
        self.server.server_close()

    def test_streams_a_message_with_text_and_a_tool_call(self):
        self.server.script = [(200, {}, SSE_TOOL_CALL, None)]
        message = self.client.stream({"model": "m", "max_tokens": 10, "messages": []}, StopSignal())
        self.assertEqual(message["content"][0], {"type": "text", "text": "Running."})
        self.assertEqual(message["content"][1]["input"], {"command": "echo 42"})
        self.assertEqual((message["stop_reason"], message["usage"]["output_tokens"]), ("tool_use", 12))
        self.assertEqual(self.server.seen[0]["x-api-key"], "test-key-1")

    def test_retries_overload_and_rate_limits_honouring_retry_after_then_gives_up_on_400(self):
        failed = []
        overloaded = {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}
        self.server.script = [(529, {"retry-after-ms": "20"}, overloaded, None), (429, {"retry-after": "0"}, overloaded, None), (200, {}, SSE_TOOL_CALL, None)]
        outcome = call_model(self.client, {"model": "m"}, RetryPolicy(initial_backoff_s=0.01), StopSignal(), lambda f, n, d: failed.append((f.code, n, d)))
        self.assertEqual(outcome[0], "message")
        self.assertEqual(failed, [("MODEL_OVERLOADED", 1, 0.02), ("MODEL_RATE_LIMITED", 2, 0.0)])
        self.server.script = [(400, {}, {"type": "error", "error": {"type": "invalid_request_error", "message": "no"}}, None)]
        outcome = call_model(self.client, {"model": "m"}, RetryPolicy(), StopSignal(), lambda *a: None)
        self.assertEqual((outcome[0], outcome[1].code, outcome[2]), ("failed", "MODEL_REQUEST_INVALID", False))

    def test_a_raised_stop_cuts_a_call_that_has_not_answered(self):
        # The model answers only once released, after the call returned: only the cut ends it.
        release = threading.Event()
        self.server.script = [(200, {}, SSE_TOOL_CALL, release)]
        stop = StopSignal()
        threading.Timer(0.2, stop.interrupt).start()
        try:
            with self.assertRaises(Interrupted):
                self.client.stream({"model": "m"}, stop)
        finally:
            release.set()



class LeaseTtlTest(unittest.TestCase):
    NOW = 1_796_000_000.0

    def assignment(self, ttl_ms=None, expires_in_s=None):
        a = harness_service_pb2.WorkAssignment()
        if ttl_ms is not None:
            a.lease_ttl.FromMilliseconds(ttl_ms)
        if expires_in_s is not None:
            a.lease_expire_time.FromMilliseconds(int((self.NOW + expires_in_s) * 1000))
        return a

    def test_the_granted_ttl_wins_over_this_hosts_clock(self):
        # A host clock 20 s behind the server's would read 50 s left on a 30 s lease.
        self.assertEqual(lease_ttl_s(self.assignment(ttl_ms=30_000, expires_in_s=50), now=self.NOW), 30.0)
        self.assertEqual(lease_ttl_s(self.assignment(ttl_ms=2_500), now=self.NOW), 2.5)

    def test_an_older_server_without_lease_ttl_gives_the_time_left(self):
        self.assertEqual(lease_ttl_s(self.assignment(expires_in_s=29.96), now=self.NOW), 30.0)
        self.assertEqual(lease_ttl_s(self.assignment(), now=self.NOW), 30.0)

    def test_held_to_sess16_bounds(self):
        self.assertEqual(lease_ttl_s(self.assignment(ttl_ms=200), now=self.NOW), 1.0)
        self.assertEqual(lease_ttl_s(self.assignment(ttl_ms=3_600_000), now=self.NOW), 600.0)


if __name__ == "__main__":
    unittest.main()


class LeaseKeeperTest(unittest.TestCase):
    def test_renews_as_the_brain_starts_not_a_third_of_the_ttl_later(self):
        renewed = threading.Event()

        class Sessions:
            def RenewLease(self, req, timeout):  # noqa: N802 (the stub's name)
                renewed.set()
                return session_service_pb2.RenewLeaseResponse()

        class Oma:
            sessions = Sessions()

        keeper = LeaseKeeper(Oma(), "s", 1, 60.0, StopSignal(), SessionCredential(""))
        keeper.start()
        try:
            # A 60 s TTL: the old keeper's first renewal came 20 s in.
            self.assertTrue(renewed.wait(10), "no RenewLease within 10 s of the start")
        finally:
            keeper.finish()
            keeper.join(5)


class RecordResultTest(unittest.TestCase):
    """A call's result recorded while another result of the call is in the log already."""

    @staticmethod
    def _brain(reason: str):
        from oma_brain.brain import Assignment, Brain
        from oma_brain.hands import ToolOutcome
        from oma_brain.log_state import PendingToolUse
        from oma_client import OmaErrorInfo, OmaRpcError

        keys = []

        class Sessions:
            def EmitEvents(self, req, timeout):  # noqa: N802 (the stub's name)
                keys.append(req.idempotency_key)
                raise OmaRpcError(OmaErrorInfo(code=grpc.StatusCode.FAILED_PRECONDITION, reason=reason, message="another result is recorded under this key"))

        class Oma:
            sessions = Sessions()

        brain = Brain(Oma(), SessionCredential(""), None, None, "w", Assignment("hrn_1", "s", 1, 60.0))
        pending = PendingToolUse(seq=3, tool_use=event_pb2.ToolUse(tool_use_id="tu_1", name="bash"))
        return brain, pending, ToolOutcome("done", False), keys

    def test_a_result_already_recorded_answers_the_call(self):
        brain, pending, outcome, keys = self._brain("IDEMPOTENCY_KEY_REUSED")
        brain._record(pending, outcome)  # the old brain raised here, and the turn ended with ERROR
        self.assertEqual(keys, ["result:tu_1"])
        self.assertEqual(brain.copy.events, [], "the brain's copy holds only what the log returned")

    def test_any_other_refusal_still_fails_the_call(self):
        brain, pending, outcome, _ = self._brain("INVALID_ARGUMENT")
        with self.assertRaises(grpc.RpcError):
            brain._record(pending, outcome)


class StorageRefusalTest(unittest.TestCase):
    def test_a_server_whose_storage_does_not_answer_is_left_to_a_successor_without_writing(self):
        from oma_brain.brain import Assignment, Brain
        from oma_client import OmaErrorInfo, OmaRpcError

        calls = []

        class Sessions:
            def RenewLease(self, req, timeout):  # noqa: N802 (the stub's names)
                return session_service_pb2.RenewLeaseResponse()

            def GetEvents(self, req, timeout):  # noqa: N802
                calls.append("GetEvents")
                raise OmaRpcError(OmaErrorInfo(code=grpc.StatusCode.UNAVAILABLE, reason="STORAGE_UNAVAILABLE", message="the server's NATS cluster did not answer"))

            def EmitEvents(self, req, timeout):  # noqa: N802
                calls.append("EmitEvents")
                return session_service_pb2.EmitEventsResponse()

            def ReleaseLease(self, req, timeout):  # noqa: N802
                calls.append("ReleaseLease")
                return session_service_pb2.ReleaseLeaseResponse()

        class Oma:
            sessions = Sessions()

        end = Brain(Oma(), SessionCredential(""), None, None, "w", Assignment("hrn_1", "s", 1, 60.0)).run()
        # The old brain ended the turn with ERROR, and tried to write it.
        self.assertEqual(end, "abandoned")
        self.assertNotIn("EmitEvents", calls)
