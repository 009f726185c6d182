"""One brain on one session (HARN-4): read the log, call the model, run tools, record
everything, until the turn ends; then IDLE with the stop reason and release the lease."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import List, Optional

import grpc
from google.protobuf import duration_pb2, struct_pb2

from oma_client import OmaClient, is_transient, reason_of
from oma.v1 import content_pb2, event_pb2, sandbox_service_pb2, session_pb2, session_service_pb2

from .hands import Hands, ToolOutcome
from .log_state import PendingToolUse, analyze
from .model import MessagesClient, ModelFailure, RetryPolicy, call_model
from .prompt import ToolCatalog, build_request, events_to_messages
from .session_io import CALL_TIMEOUT_S, LeaseKeeper, LogCopy, SessionCredential, Writer, retry_transient, watch_for_interrupt
from .stop_signal import Fenced, Interrupted, StopSignal

DEFAULT_MAX_TOKENS = 4096
DEFAULT_MAX_TURN_STEPS = 100
S = session_pb2
log = logging.getLogger("oma_brain")


@dataclass(frozen=True)
class Assignment:
    harness_id: str
    session_id: str
    epoch: int
    lease_ttl_s: float


# The server's storage failed or does not answer (SESS-21): no write succeeds until it
# answers again or the server is restarted, so a brain writes nothing more.
STORAGE_REFUSALS = {"STORAGE_FULL", "STORAGE_UNAVAILABLE"}


def _status(status: int, reason: int = 0, detail: str = "") -> event_pb2.Event:
    return event_pb2.Event(status_changed=event_pb2.StatusChanged(status=status, stop_reason=reason, detail=detail))


def _seconds(value: float) -> duration_pb2.Duration:
    d = duration_pb2.Duration()
    d.FromMilliseconds(int(value * 1000))
    return d


def response_events(message: dict, catalog: ToolCatalog, seconds: float) -> List[event_pb2.Event]:
    """The events of one model response, in block order, then its model_usage: one atomic batch."""
    out: List[event_pb2.Event] = []
    for block in message.get("content", []):
        kind = block.get("type")
        if kind == "thinking":
            out.append(event_pb2.Event(agent_thinking=event_pb2.AgentThinking(thinking=block.get("thinking", ""), signature=block.get("signature", ""))))
        elif kind == "text" and block.get("text"):
            text = content_pb2.ContentBlock(text=content_pb2.TextBlock(text=block["text"]))
            out.append(event_pb2.Event(agent_message=event_pb2.AgentMessage(content=[text], model_message_id=message.get("id", ""))))
        elif kind == "tool_use":
            tool_kind, confirm = catalog.by_name.get(block["name"], (S.TOOL_KIND_SANDBOX, False))
            tool_input = struct_pb2.Struct()
            tool_input.update(block.get("input") or {})
            out.append(event_pb2.Event(tool_use=event_pb2.ToolUse(tool_use_id=block["id"], name=block["name"], input=tool_input, kind=tool_kind, requires_confirmation=confirm)))
    usage = message.get("usage", {})
    out.append(event_pb2.Event(model_usage=event_pb2.ModelUsage(
        model=message.get("model", ""), input_tokens=usage.get("input_tokens", 0), output_tokens=usage.get("output_tokens", 0),
        cache_read_input_tokens=usage.get("cache_read_input_tokens") or 0, cache_creation_input_tokens=usage.get("cache_creation_input_tokens") or 0,
        duration=_seconds(seconds))))
    return out


class Brain:
    """``oma`` is a client that sends ``credential``'s token: the brain reaches its session
    (and its sandboxes) with the session token of its assignment alone (SEC-7)."""

    def __init__(self, oma: OmaClient, credential: SessionCredential, model: MessagesClient, policy: RetryPolicy, worker_id: str, a: Assignment):
        self.oma, self.credential, self.model, self.policy, self.worker_id, self.a = oma, credential, model, policy, worker_id, a
        self.stop = StopSignal()
        self.copy = LogCopy(oma, a.session_id)
        self.writer = Writer(oma, a.session_id, a.epoch, self.stop)

    def run(self) -> str:
        """Runs the turn; returns how it ended (a stop reason name, "fenced" or "abandoned")."""
        a = self.a
        lease = LeaseKeeper(self.oma, a.session_id, a.epoch, a.lease_ttl_s, self.stop, self.credential)
        lease.start()
        watching = threading.Event()
        try:
            return self._turn(watching)
        except Fenced:
            log.warning("%s: lease lost, another brain owns the session; stopping without writing", a.session_id)
            return "fenced"
        except grpc.RpcError as err:
            if self.stop.fenced:
                return "fenced"
            if is_transient(err) or reason_of(err) in STORAGE_REFUSALS:
                # The server stayed out of reach, or its storage takes no write until it answers
                # again or the server is restarted (SESS-21): leave the session to a successor.
                log.warning("%s: server unreachable or refusing writes (%s); leaving the session to a successor", a.session_id, reason_of(err) or "unreachable")
                return "abandoned"
            return self._fail(err)
        except Exception as err:  # noqa: BLE001 - any other fault ends the turn with ERROR
            return self._fail(err)
        finally:
            lease.finish()
            watching.set()
            if not self.stop.fenced:
                try:
                    self.oma.sessions.ReleaseLease(session_service_pb2.ReleaseLeaseRequest(session_id=a.session_id, epoch=a.epoch), timeout=CALL_TIMEOUT_S)
                except grpc.RpcError:
                    pass

    def _turn(self, watching: threading.Event) -> str:
        a = self.a
        self.copy.refresh()
        session = retry_transient(lambda: self.oma.sessions.GetSession(session_service_pb2.GetSessionRequest(session_id=a.session_id), timeout=CALL_TIMEOUT_S)).session
        tools = retry_transient(lambda: self.oma.sandboxes.ListTools(sandbox_service_pb2.ListToolsRequest(), timeout=CALL_TIMEOUT_S)).tools
        agent = session.agent
        catalog = ToolCatalog(agent, tools)
        resumed_after = self.copy.head_seq
        started = event_pb2.Event(harness_started=event_pb2.HarnessStarted(harness_id=a.harness_id, lease_epoch=a.epoch, resumed_after_seq=resumed_after, worker_id=self.worker_id))
        self.copy.add(self.writer.emit([started, _status(S.SESSION_STATUS_RUNNING)], f"{a.harness_id}:started") or [])
        watch_for_interrupt(self.oma, a.session_id, resumed_after, self.stop, watching)
        hands = Hands(self.oma, self.writer, agent.sandbox if agent.HasField("sandbox") else None, a.harness_id, analyze(self.copy.events).sandbox_id)
        max_steps = agent.max_turn_steps or DEFAULT_MAX_TURN_STEPS
        steps, fresh = 0, True
        while True:
            if self.stop.fenced:
                raise Fenced("lease lost")
            if not fresh:
                self.copy.refresh()
            fresh = False
            state = analyze(self.copy.events)
            if self.stop.interrupted or state.interrupted:
                for p in state.pending:
                    self._record(p, ToolOutcome("Interrupted by the user before the tool call finished.", True))
                if state.new_input:
                    self.stop.clear_interrupt()  # a message after the interrupt supersedes it
                    continue
                if self._finish(S.STOP_REASON_INTERRUPTED):
                    return "INTERRUPTED"
                continue
            try:
                if state.pending:
                    waiting = False
                    for p in state.pending:
                        decision = p.confirmation.decision if p.confirmation is not None else 0
                        if p.tool_use.kind == S.TOOL_KIND_CUSTOM or (p.tool_use.requires_confirmation and p.confirmation is None):
                            waiting = True
                        elif decision == event_pb2.CONFIRMATION_DECISION_DENY:
                            self._record(p, ToolOutcome(p.confirmation.deny_message or "The user denied this tool call.", True))
                        else:
                            self._record(p, hands.execute(p.tool_use, self.stop))
                    if waiting and self._finish(S.STOP_REASON_REQUIRES_ACTION):
                        return "REQUIRES_ACTION"
                    continue
                messages = events_to_messages(self.copy.events)
                if not messages or messages[-1]["role"] == "assistant":
                    if self._finish(S.STOP_REASON_END_TURN):
                        return "END_TURN"
                    continue
                steps += 1
                if steps > max_steps:
                    self._finish(S.STOP_REASON_MAX_STEPS, f"more than {max_steps} model calls in one turn", guard=False)
                    return "MAX_STEPS"
                body = build_request(agent, catalog, self.copy.events, agent.max_tokens or DEFAULT_MAX_TOKENS)
                outcome = call_model(self.model, body, self.policy, self.stop, self._record_failure)
                if outcome[0] == "failed":
                    failure, exhausted = outcome[1], outcome[2]
                    reason = S.STOP_REASON_RETRIES_EXHAUSTED if exhausted else S.STOP_REASON_ERROR
                    self._finish(reason, failure.message, guard=False)
                    return "RETRIES_EXHAUSTED" if exhausted else "ERROR"
                message, seconds = outcome[1], outcome[2]
                self.copy.add(self.writer.emit(response_events(message, catalog, seconds), f"response:{message.get('id', '')}") or [])
                if message.get("stop_reason") == "max_tokens":
                    # A call cut off mid-response is not run; left pending it would read as work to resume.
                    for p in analyze(self.copy.events).pending:
                        if p.tool_use.kind != S.TOOL_KIND_CUSTOM:
                            self._record(p, ToolOutcome("Not run: the response was cut off at max_tokens.", True))
                    self._finish(S.STOP_REASON_MAX_TOKENS, guard=False)
                    return "MAX_TOKENS"
            except Interrupted:
                if self.stop.fenced:
                    raise Fenced("lease lost")
                continue  # the next pass records the interrupt

    def _finish(self, reason: int, detail: str = "", guard: bool = True) -> bool:
        """Records IDLE; False when new events arrived meanwhile (the loop goes on)."""
        head = self.copy.head_seq
        done = self.writer.emit([_status(S.SESSION_STATUS_IDLE, reason, detail)], f"{self.a.harness_id}:idle:{head}", head if guard else None)
        return done is not None

    def _record(self, p: PendingToolUse, r: ToolOutcome) -> None:
        """Records a call's result under a key of the call's own. IDEMPOTENCY_KEY_REUSED says a
        different result of this call is in the log already (a predecessor's append that was
        still being written when this brain read the log): the call is answered, and the
        turn's next pass reads the log on instead of ending the turn on it."""
        result = event_pb2.ToolResult(tool_use_id=p.tool_use.tool_use_id, output=r.output, is_error=r.is_error, truncated=r.truncated, sandbox_id=r.sandbox_id, replayed=r.replayed)
        try:
            self.copy.add(self.writer.emit([event_pb2.Event(tool_result=result)], f"result:{p.tool_use.tool_use_id}") or [])
        except grpc.RpcError as err:
            if reason_of(err) != "IDEMPOTENCY_KEY_REUSED":
                raise
            log.info("%s: the result of %s is in the log already; reading on", self.a.session_id, p.tool_use.tool_use_id)

    def _record_failure(self, f: ModelFailure, attempt: int, retry_in: Optional[float]) -> None:
        error = event_pb2.SessionError(code=f.code, message=f.message, retryable=retry_in is not None, attempt=attempt, http_status=f.http_status)
        if retry_in is not None:
            error.retry_after.CopyFrom(_seconds(retry_in))
        key = f"{self.a.harness_id}:model-error:{self.copy.head_seq}:{attempt}"
        self.copy.add(self.writer.emit([event_pb2.Event(error=error)], key) or [])

    def _fail(self, err: BaseException) -> str:
        """Ends the turn with ERROR; calls left without a result get an error result, so the
        log does not read as unfinished work to wake again and again."""
        log.error("%s: brain failed: %s", self.a.session_id, err)
        message = str(err)
        try:
            self.copy.refresh()
            events = [event_pb2.Event(error=event_pb2.SessionError(code="BRAIN_ERROR", message=message))]
            for p in analyze(self.copy.events).pending:
                if p.tool_use.kind != S.TOOL_KIND_CUSTOM:
                    events.append(event_pb2.Event(tool_result=event_pb2.ToolResult(tool_use_id=p.tool_use.tool_use_id, output=f"The call was not completed: {message}", is_error=True)))
            events.append(_status(S.SESSION_STATUS_IDLE, S.STOP_REASON_ERROR, message))
            self.writer.emit(events, f"{self.a.harness_id}:brain-error")
        except Exception:  # noqa: BLE001 - nothing more can be recorded; the lease expires
            pass
        return "ERROR"
