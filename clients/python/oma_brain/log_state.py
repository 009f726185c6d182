"""What a stretch of the log says about the work left on a session (the facts the brain acts on)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from oma.v1 import event_pb2, session_pb2

_INPUT_KINDS = {"user_message", "tool_result", "custom_tool_result", "tool_confirmation"}


@dataclass
class PendingToolUse:
    """A tool call the model asked for that has no result in the log yet."""

    seq: int
    tool_use: event_pb2.ToolUse
    confirmation: Optional[event_pb2.ToolConfirmation] = None


@dataclass
class LogState:
    head_seq: int = 0
    last_idle_seq: int = 0
    last_interrupt_seq: int = 0
    last_input_seq: int = 0
    sandbox_id: Optional[str] = None
    pending: List[PendingToolUse] = field(default_factory=list)

    @property
    def new_input(self) -> bool:
        """Input after the last idle status and after the last interrupt."""
        return self.last_input_seq > max(self.last_idle_seq, self.last_interrupt_seq)

    @property
    def interrupted(self) -> bool:
        """An interrupt after the last input and the last idle status: the turn must stop (HARN-9)."""
        return self.last_interrupt_seq > max(self.last_idle_seq, self.last_input_seq)


def analyze(events: Sequence[event_pb2.Event]) -> LogState:
    state = LogState()
    pending: Dict[str, PendingToolUse] = {}
    for event in events:
        kind = event.WhichOneof("payload")
        state.head_seq = max(state.head_seq, event.seq)
        if kind in _INPUT_KINDS:
            state.last_input_seq = event.seq
        if kind == "tool_use":
            pending[event.tool_use.tool_use_id] = PendingToolUse(event.seq, event.tool_use)
        elif kind in ("tool_result", "custom_tool_result"):
            pending.pop(getattr(event, kind).tool_use_id, None)
        elif kind == "tool_confirmation":
            waiting = pending.get(event.tool_confirmation.tool_use_id)
            if waiting:
                waiting.confirmation = event.tool_confirmation
        elif kind == "user_interrupt":
            state.last_interrupt_seq = event.seq
        elif kind == "sandbox_provisioned":
            state.sandbox_id = event.sandbox_provisioned.sandbox_id
        elif kind == "status_changed" and event.status_changed.status == session_pb2.SESSION_STATUS_IDLE:
            state.last_idle_seq = event.seq
    state.pending = list(pending.values())
    return state
