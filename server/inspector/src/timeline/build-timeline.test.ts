import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs, durationFromMs } from "@bufbuild/protobuf/wkt";
import { EventSchema, LeaseEndReason, type Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { SessionStatus, StopReason } from "@oma/client/gen/oma/v1/session_pb.js";
import { describe, expect, it } from "vitest";
import { buildTimeline, TimelineBuilder } from "./build-timeline.js";
import { diagnose } from "./diagnosis.js";

type Payload = MessageInitShape<typeof EventSchema>["payload"];

/** A log of the given payloads with seqs 1, 2, 3 … one second apart. */
function log(...payloads: Payload[]): Event[] {
  return payloads.map((payload, i) => create(EventSchema, { seq: BigInt(i + 1), id: `evt_${i + 1}`, createTime: timestampFromMs(1_700_000_000_000 + i * 1000), payload }));
}
const user = (text: string): Payload => ({ case: "userMessage", value: { content: [{ block: { case: "text", value: { text } } }] } });
const started = (harnessId: string, epoch: number, workerId: string): Payload => ({ case: "harnessStarted", value: { harnessId, leaseEpoch: BigInt(epoch), workerId } });
const running: Payload = { case: "statusChanged", value: { status: SessionStatus.RUNNING } };
const idle = (stopReason: StopReason): Payload => ({ case: "statusChanged", value: { status: SessionStatus.IDLE, stopReason } });
const toolUse = (id: string): Payload => ({ case: "toolUse", value: { toolUseId: id, name: "bash", input: { command: "ls" } } });
const usage: Payload = { case: "modelUsage", value: { model: "m", inputTokens: 10n, outputTokens: 5n, cacheReadInputTokens: 100n, duration: durationFromMs(1500) } };

describe("the inspector's timeline", () => {
  it("groups a turn into model calls and tool calls with results, exit codes, durations and the sandbox's backend", () => {
    const t = buildTimeline(
      log(
        user("hi"),
        started("hrn_a", 1, "w1"),
        running,
        { case: "agentMessage", value: { content: [{ block: { case: "text", value: { text: "Looking." } } }] } },
        toolUse("tu_1"),
        usage,
        { case: "sandboxProvisioned", value: { sandboxId: "sbx_1", backend: "docker" } },
        { case: "toolResult", value: { toolUseId: "tu_1", output: "a\nb", exitCode: 0, duration: durationFromMs(42), sandboxId: "sbx_1" } },
        { case: "agentMessage", value: { content: [{ block: { case: "text", value: { text: "Done." } } }] } },
        usage,
        idle(StopReason.END_TURN),
      ),
    );
    expect(t.turns).toHaveLength(1);
    const kinds = t.turns[0]!.items.map((i) => i.kind);
    expect(kinds).toEqual(["user", "brain", "status", "model", "tool", "sandbox", "model", "status"]);
    const model = t.turns[0]!.items[3]!;
    expect(model).toMatchObject({ kind: "model", seq: 4, text: "Looking.", durationMs: 1500, inputTokens: 10, cacheReadTokens: 100, toolCalls: 1, complete: true });
    const tool = t.turns[0]!.items[4]!;
    expect(tool).toMatchObject({ kind: "tool", seq: 5, name: "bash", input: { command: "ls" }, result: { seq: 8, output: "a\nb", exitCode: 0, durationMs: 42, sandboxId: "sbx_1", backend: "docker" } });
    expect(t.turns[0]!.end).toMatchObject({ seq: 11, status: "idle", stopReason: "end_turn" });
    expect(t.brains).toEqual([expect.objectContaining({ harnessId: "hrn_a", epoch: 1, workerId: "w1", arrival: "started", end: expect.objectContaining({ kind: "released", stopReason: "end_turn" }) })]);
    expect(t.counts).toMatchObject({ events: 11, modelCalls: 2, toolCalls: 1, inputTokens: 20 });
    expect(diagnose(t)).toEqual([]);
  });

  it("shows a brain whose lease expired as lost, its successor as rescheduled, and says so in the diagnosis", () => {
    const t = buildTimeline(
      log(
        user("go"),
        started("hrn_a", 1, "w1"),
        running,
        toolUse("tu_1"),
        usage,
        { case: "statusChanged", value: { status: SessionStatus.RESCHEDULING, endedLease: { harnessId: "hrn_a", leaseEpoch: 1n, workerId: "w1", reason: LeaseEndReason.EXPIRED } } },
        started("hrn_b", 2, "w2"),
        running,
        { case: "toolResult", value: { toolUseId: "tu_1", output: "ok", sandboxId: "sbx_1", replayed: true } },
        idle(StopReason.END_TURN),
      ),
    );
    expect(t.brains.map((b) => [b.harnessId, b.arrival, b.end?.kind])).toEqual([
      ["hrn_a", "started", "lost"],
      ["hrn_b", "rescheduled", "released"],
    ]);
    expect(t.brains[0]!.end).toMatchObject({ kind: "lost", seq: 6, why: "expired" });
    const findings = diagnose(t);
    expect(findings).toEqual([expect.objectContaining({ area: "brain", severity: "problem", seq: 6 })]);
    expect(findings[0]!.text).toMatch(/hrn_a .* lost its lease \(expired\)/);
  });

  it("marks model retries where they happened, a lost sandbox and its replacement, and an exhausted turn", () => {
    const t = buildTimeline(
      log(
        user("go"),
        started("hrn_a", 1, "w1"),
        { case: "error", value: { code: "MODEL_RATE_LIMITED", message: "429", retryable: true, attempt: 1, httpStatus: 429, retryAfter: durationFromMs(1000) } },
        { case: "sandboxProvisioned", value: { sandboxId: "sbx_2", backend: "bubblewrap", replacesSandboxId: "sbx_1" } },
        { case: "error", value: { code: "MODEL_SERVER_ERROR", message: "500", retryable: false, attempt: 6, httpStatus: 500 } },
        idle(StopReason.RETRIES_EXHAUSTED),
      ),
    );
    const areas = diagnose(t).map((f) => `${f.area}:${f.severity}`);
    expect(areas).toEqual(expect.arrayContaining(["sandbox:problem", "model:problem", "model:note"]));
    expect(t.turns[0]!.items.filter((i) => i.kind === "error").map((i) => i.seq)).toEqual([3, 5]);
  });

  it("ignores a replayed copy of an event it already has and starts a new turn after an idle status", () => {
    const events = log(user("one"), idle(StopReason.END_TURN), user("two"));
    const b = new TimelineBuilder();
    b.add(events.slice(0, 2));
    b.add(events);
    expect(b.snapshot().counts.events).toBe(3);
    expect(b.snapshot().turns.map((t) => t.firstSeq)).toEqual([1, 3]);
  });
});
