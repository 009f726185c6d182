"""The log as a Messages API request: messages, tools and cache breakpoints (HARN-15)."""
from __future__ import annotations

from typing import Dict, List, Sequence

from google.protobuf import json_format

from oma.v1 import event_pb2, session_pb2

EPHEMERAL = {"type": "ephemeral"}


def _blocks(content: Sequence) -> List[dict]:
    out = []
    for block in content:
        kind = block.WhichOneof("block")
        if kind == "text":
            out.append({"type": "text", "text": block.text.text})
        elif kind == "image":
            import base64

            image = block.image
            source = ({"type": "url", "url": image.url} if image.url
                      else {"type": "base64", "media_type": image.media_type, "data": base64.b64encode(image.data).decode()})
            out.append({"type": "image", "source": source})
    return out


def struct_to_dict(struct) -> dict:
    return json_format.MessageToDict(struct) if struct is not None else {}


def events_to_messages(events: Sequence[event_pb2.Event]) -> List[dict]:
    """Agent events become assistant blocks, user input and tool results user blocks;
    consecutive blocks of one role share a message, tool results first in a user message.
    Exactly one result per tool_use, after it; system events are left out."""
    messages: List[dict] = []
    asked, answered = set(), set()

    def push(role: str, blocks: List[dict]) -> None:
        if not blocks:
            return
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"].extend(blocks)
        else:
            messages.append({"role": role, "content": list(blocks)})

    for event in events:
        kind = event.WhichOneof("payload")
        if kind == "user_message":
            push("user", _blocks(event.user_message.content))
        elif kind == "agent_thinking":
            push("assistant", [{"type": "thinking", "thinking": event.agent_thinking.thinking, "signature": event.agent_thinking.signature}])
        elif kind == "agent_message":
            push("assistant", _blocks(event.agent_message.content))
        elif kind == "tool_use":
            asked.add(event.tool_use.tool_use_id)
            push("assistant", [{"type": "tool_use", "id": event.tool_use.tool_use_id, "name": event.tool_use.name, "input": struct_to_dict(event.tool_use.input)}])
        elif kind in ("tool_result", "custom_tool_result"):
            result = getattr(event, kind)
            if result.tool_use_id in asked and result.tool_use_id not in answered:
                answered.add(result.tool_use_id)
                block = {"type": "tool_result", "tool_use_id": result.tool_use_id, "content": result.output}
                if result.is_error:
                    block["is_error"] = True
                push("user", [block])
    for m in messages:
        if m["role"] == "user":
            m["content"].sort(key=lambda b: b["type"] != "tool_result")
    return messages


class ToolCatalog:
    """The tools offered to the model (stable order) and how each is routed: every sandbox
    tool when the agent names none, else the named ones; custom tools bring their schema."""

    def __init__(self, agent: session_pb2.AgentConfig, sandbox_tools: Sequence):
        known = {t.name: t for t in sandbox_tools}
        self.prompt: List[dict] = []
        self.by_name: Dict[str, tuple] = {}
        if not agent.tools:
            for t in sandbox_tools:
                self._add(t.name, t.description, t.input_schema, session_pb2.TOOL_KIND_SANDBOX, False)
            return
        for tool in agent.tools:
            if tool.kind == session_pb2.TOOL_KIND_CUSTOM:
                self._add(tool.name, tool.description, tool.input_schema, tool.kind, tool.requires_confirmation)
            elif tool.name in known:
                schema = tool.input_schema if tool.HasField("input_schema") else known[tool.name].input_schema
                self._add(tool.name, tool.description or known[tool.name].description, schema, session_pb2.TOOL_KIND_SANDBOX, tool.requires_confirmation)

    def _add(self, name: str, description: str, schema, kind: int, requires_confirmation: bool) -> None:
        input_schema = struct_to_dict(schema) or {"type": "object", "properties": {}}
        self.prompt.append({"name": name, "description": description, "input_schema": input_schema})
        self.by_name[name] = (kind, requires_confirmation)


def build_request(agent: session_pb2.AgentConfig, catalog: ToolCatalog, events: Sequence[event_pb2.Event], max_tokens: int) -> dict:
    """The request with cache breakpoints on the stable prefix: the last tool, the system
    prompt and the newest block of the conversation (the next call repeats all of it)."""
    tools = [dict(t) for t in catalog.prompt]
    if tools:
        tools[-1]["cache_control"] = EPHEMERAL
    messages = events_to_messages(events)
    if messages:
        for block in reversed(messages[-1]["content"]):
            if block["type"] != "thinking":
                block["cache_control"] = EPHEMERAL
                break
    body = {"model": agent.model, "max_tokens": max_tokens, "messages": messages, "tools": tools}
    if agent.system_prompt:
        body["system"] = [{"type": "text", "text": agent.system_prompt, "cache_control": EPHEMERAL}]
    return body
