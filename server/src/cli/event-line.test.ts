import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { EventSchema, type Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { ContextStrategy, SessionStatus, StopReason } from "@oma/client/gen/oma/v1/session_pb.js";
import { describe, expect, it } from "vitest";
import { formatEventLine, MAX_SUMMARY_CHARS } from "./event-line.js";

const at = timestampFromDate(new Date("2030-01-02T03:04:05.678Z"));
const event = (payload: MessageInitShape<typeof EventSchema>["payload"], seq = 7n) => create(EventSchema, { seq, id: "evt_1", createTime: at, payload });
const plain = (e: Event) => formatEventLine(e, { color: false });

describe("formatEventLine", () => {
  it("prints seq, UTC time, kind and the message text on one line", () => {
    const line = plain(event({ case: "userMessage", value: { content: [{ block: { case: "text", value: { text: "hello\nworld" } } }, { block: { case: "image", value: {} } }] } }));
    expect(line).toBe("     #7  03:04:05.678  user_message        hello⏎world [image]");
  });

  it("summarises tool calls, results, status changes and custom events", () => {
    const tool = plain(event({ case: "toolUse", value: { toolUseId: "tu_1", name: "bash", input: { command: "ls" }, requiresConfirmation: true } }));
    expect(tool).toContain('tool_use            bash({"command":"ls"}) [needs confirmation] tu_1');
    expect(plain(event({ case: "toolResult", value: { toolUseId: "tu_1", output: "a\nb", isError: true, truncated: true } }))).toContain("tu_1 (error) (truncated) → a⏎b");
    expect(plain(event({ case: "statusChanged", value: { status: SessionStatus.IDLE, stopReason: StopReason.END_TURN } }))).toContain("status_changed      idle (end_turn)");
    expect(plain(event({ case: "custom", value: { type: "deploy" } }))).toContain("custom              deploy {}");
    expect(plain(event({ case: "error", value: { code: "MODEL_OVERLOADED", message: "busy", attempt: 2, retryable: true } }))).toContain("MODEL_OVERLOADED busy (attempt 2, will retry)");
  });

  it("says what a context action did: strategy, events covered, tokens, and the summary", () => {
    const compact = event({ case: "contextCompacted", value: { strategy: ContextStrategy.COMPACT, throughSeq: 40n, summary: "did A", tokensBefore: 9000n, tokensAfter: 3000n } });
    expect(plain(compact)).toContain("context_compacted   compact through #40: 9000 → 3000 tokens did A");
    const clear = event({ case: "contextCompacted", value: { strategy: ContextStrategy.CLEAR, throughSeq: 12n, tokensBefore: 9000n, tokensAfter: 5000n } });
    expect(plain(clear)).toContain("clear through #12: 9000 → 5000 tokens");
  });

  it("cuts long summaries so that one event stays one line", () => {
    const line = plain(event({ case: "agentThinking", value: { thinking: "x".repeat(1000) + "\n".repeat(10) } }));
    expect(line).not.toContain("\n");
    expect(line.endsWith("…")).toBe(true);
    expect(line.split("agent_thinking")[1]!.trim()).toHaveLength(MAX_SUMMARY_CHARS);
  });

  it("adds ANSI colours only when asked", () => {
    const e = event({ case: "userInterrupt", value: { reason: "stop" } });
    expect(plain(e)).not.toContain("\u001b[");
    expect(formatEventLine(e, { color: true })).toContain("\u001b[");
  });
});
