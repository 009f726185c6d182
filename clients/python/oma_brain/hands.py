"""The session's hands (HARN-8, HARN-19): the sandbox named in the log, provisioned only
when a tool call needs one, every call keyed by its tool_use id (HARN-7)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Optional

import grpc

from oma_client import OmaClient, reason_of
from oma.v1 import event_pb2, sandbox_pb2, sandbox_service_pb2

from .session_io import CALL_TIMEOUT_S, Writer, retry_transient
from .stop_signal import Interrupted, StopSignal

LOST_REASONS = {"SANDBOX_LOST", "SANDBOX_NOT_FOUND"}
# The model made a bad call: it sees the error and can correct itself.
CALL_REASONS = {"TOOL_NOT_FOUND", "INVALID_TOOL_INPUT", "IDEMPOTENCY_KEY_REUSED"}
PROVISION_TIMEOUT_S = 120.0
# A tool runs at most this long on the server by default; the call waits a little more.
EXECUTE_TIMEOUT_S = 660.0

log = logging.getLogger("oma_brain")


@dataclass
class ToolOutcome:
    output: str
    is_error: bool
    sandbox_id: str = ""
    truncated: bool = False
    replayed: bool = False


class Hands:
    def __init__(self, oma: OmaClient, writer: Writer, resources: Optional[sandbox_pb2.SandboxResources], harness_id: str, sandbox_id: Optional[str]):
        self._oma, self._writer, self._resources, self._harness_id = oma, writer, resources, harness_id
        self._sandbox_id = sandbox_id
        self._lost_id = ""

    def ensure(self) -> str:
        """The session's sandbox, provisioned and recorded in the log when there is none."""
        if self._sandbox_id:
            return self._sandbox_id
        req = sandbox_service_pb2.ProvisionRequest(session_id=self._writer.session_id)
        if self._resources is not None:
            req.resources.CopyFrom(self._resources)
        sandbox = self._oma.sandboxes.Provision(req, timeout=PROVISION_TIMEOUT_S).sandbox
        event = event_pb2.Event(sandbox_provisioned=event_pb2.SandboxProvisioned(
            sandbox_id=sandbox.sandbox_id, backend=sandbox.backend, replaces_sandbox_id=self._lost_id))
        self._writer.emit([event], f"{self._harness_id}:sandbox:{sandbox.sandbox_id}")
        log.info("provisioned sandbox %s (%s)", sandbox.sandbox_id, sandbox.backend)
        self._sandbox_id = sandbox.sandbox_id
        return sandbox.sandbox_id

    def execute(self, tool_use: event_pb2.ToolUse, stop: StopSignal) -> ToolOutcome:
        try:
            sandbox_id = self.ensure()
        except grpc.RpcError as err:
            reason = reason_of(err)
            if not reason or reason in ("LEASE_LOST", "INTERNAL"):
                raise
            return ToolOutcome(f"No sandbox could be provisioned ({reason}): {err}", True)
        req = sandbox_service_pb2.ExecuteRequest(sandbox_id=sandbox_id, name=tool_use.name, idempotency_key=tool_use.tool_use_id)
        req.input.CopyFrom(tool_use.input)
        try:
            # Keyed by the tool_use id: a repeat after a broken connection attaches to the same run (SBX-8).
            res = retry_transient(lambda: self._cancellable_execute(req, stop))
            return ToolOutcome(res.output, res.is_error, sandbox_id, res.truncated, res.replayed)
        except grpc.RpcError as err:
            if stop.stopped:
                raise Interrupted("tool call stopped") from err
            reason = reason_of(err)
            if reason in LOST_REASONS:
                log.warning("sandbox %s lost (%s); the next tool call provisions a fresh one", sandbox_id, reason)
                self._lost_id, self._sandbox_id = sandbox_id, None
                return ToolOutcome(f"The sandbox {sandbox_id} was lost ({reason}) and this call did not complete. A fresh sandbox "
                                   "will run the next tool call; files in the old one are gone.", True, sandbox_id)
            if reason in CALL_REASONS:
                return ToolOutcome(f"Tool call rejected ({reason}): {err}", True, sandbox_id)
            raise

    def _cancellable_execute(self, req: sandbox_service_pb2.ExecuteRequest, stop: StopSignal) -> sandbox_service_pb2.ExecuteResponse:
        future = self._oma.sandboxes.Execute.future(req, timeout=EXECUTE_TIMEOUT_S)
        unregister = stop.on_stop(future.cancel)
        try:
            return future.result()
        except grpc.FutureCancelledError as err:
            raise Interrupted("tool call stopped") from err
        finally:
            unregister()
