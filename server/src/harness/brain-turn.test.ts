import { byStep } from "@oma/conformance/scripted-model";
import { SandboxState } from "@oma/client/gen/oma/v1/sandbox_pb.js";
import { StopReason } from "@oma/client/gen/oma/v1/session_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backendsUnderTest, announceSkips } from "../sandbox/sandbox-test-support.js";
import { BrainFixture } from "./testing/brain-fixture.js";
import { logInvariants } from "./testing/log-invariants.js";

// HARN-4, HARN-7, HARN-8, HARN-14, HARN-15: a full turn through real worker processes, the real
// SDK against the scripted model, and a real sandbox of each backend.
const backends = backendsUnderTest().filter((b) => b.name !== "process");
announceSkips("brain full turn", backends);

const script = byStep([
  { content: [{ type: "text", text: "Writing a file." }, { type: "tool_use", name: "write_file", input: { path: "notes.txt", content: "hello from the brain\n" } }] },
  { content: [{ type: "tool_use", name: "bash", input: { command: "cat notes.txt && echo line2 >> notes.txt" } }] },
  { content: [{ type: "thinking", thinking: "Check it." }, { type: "tool_use", name: "read_file", input: { path: "notes.txt" } }] },
  { content: [{ type: "tool_use", name: "bash", input: { command: "env; cat /proc/1/environ 2>/dev/null | tr '\\0' '\\n'" } }] },
  { content: [{ type: "text", text: "All done: the file has two lines." }] },
]);

let fx: BrainFixture;
beforeAll(async () => {
  fx = await BrainFixture.start({ model: { script } });
  await fx.startWorker();
});
afterAll(async () => fx?.stop());

describe.each(backends)("a full turn with several tool calls on $name", (backend) => {
  it.skipIf(!backend.available)("runs every tool once in one lazily provisioned sandbox and ends the turn", async () => {
    const before = fx.model.requests.length;
    const sessionId = await fx.createSession({ systemPrompt: "You are a test agent.", sandbox: { backend: backend.name } }, "write notes");
    await fx.harness.wake({ sessionId });
    expect(await fx.waitIdle(sessionId)).toBe(StopReason.END_TURN);

    const events = await fx.events(sessionId);
    const { toolUseIds, problems } = logInvariants(events);
    expect(problems).toEqual([]);
    expect(toolUseIds).toHaveLength(4);
    const kinds = events.map((e) => e.payload.case);
    expect(kinds.slice(0, 3)).toEqual(["userMessage", "harnessStarted", "statusChanged"]);
    // HARN-8: the sandbox is provisioned after the first tool_use, not before the model call.
    expect(kinds.indexOf("sandboxProvisioned")).toBeGreaterThan(kinds.indexOf("toolUse"));
    expect(kinds.filter((k) => k === "sandboxProvisioned")).toHaveLength(1);
    expect(kinds.filter((k) => k === "modelUsage")).toHaveLength(5);
    const results = events.flatMap((e) => (e.payload.case === "toolResult" ? [e.payload.value] : []));
    expect(results.map((r) => r.isError)).toEqual([false, false, false, false]);
    expect(results[1]!.output).toContain("hello from the brain");
    expect(results[2]!.output).toContain("line2");
    const provisioned = events.find((e) => e.payload.case === "sandboxProvisioned")!;
    const sandboxId = provisioned.payload.case === "sandboxProvisioned" ? provisioned.payload.value.sandboxId : "";
    expect(provisioned.payload.case === "sandboxProvisioned" && provisioned.payload.value.backend).toBe(backend.name);
    expect(results.every((r) => r.sandboxId === sandboxId)).toBe(true);
    const { sandbox } = await fx.sandboxes.getSandbox({ sandboxId });
    expect(sandbox?.state).toBe(SandboxState.READY);

    // The model saw the session's prompt, tools and tool results; the stable prefix hit the cache.
    const requests = fx.model.requests.slice(before).filter((r) => JSON.stringify(r.body.messages).includes("write notes"));
    expect(requests).toHaveLength(5);
    expect(requests.every((r) => r.stream)).toBe(true);
    expect(requests[0]!.body.system).toEqual([{ type: "text", text: "You are a test agent.", cache_control: { type: "ephemeral" } }]);
    expect((requests[0]!.body.tools ?? []).map((t) => t["name"])).toEqual(expect.arrayContaining(["bash", "read_file", "write_file"]));
    const usage = events.flatMap((e) => (e.payload.case === "modelUsage" ? [e.payload.value] : []));
    expect(usage.slice(1).every((u) => Number(u.cacheReadInputTokens) > 0)).toBe(true);
    // HARN-14: the brain's model key is in neither the sandbox's environment nor the log.
    expect(results[3]!.output).toContain("PATH=");
    expect(results[3]!.output).not.toContain("ANTHROPIC");
    expect(JSON.stringify(events.map((e) => e.payload.value), (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))).not.toContain(fx.apiKey);
    const last = events.at(-1)!;
    expect(last.payload.case === "statusChanged" && last.payload.value.stopReason).toBe(StopReason.END_TURN);
  });
});
