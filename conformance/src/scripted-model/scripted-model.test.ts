import Anthropic from "@anthropic-ai/sdk";
import { afterEach, describe, expect, it } from "vitest";
import { byStep, bySteps, promptTokens, startScriptedModel, stepOf, type ScriptedModel } from "./index.js";

// The scripted model is only useful if the real SDK cannot tell it from the API, so every
// test drives it through @anthropic-ai/sdk.
let model: ScriptedModel | undefined;
afterEach(async () => {
  await model?.close();
  model = undefined;
});

const client = (m: ScriptedModel, maxRetries = 0) => new Anthropic({ apiKey: "test-key", baseURL: m.url, maxRetries });

describe("scripted Messages API", () => {
  it("answers a non-streaming request with text and tool_use blocks, usage and stop reason", async () => {
    model = await startScriptedModel({
      script: [{ content: [{ type: "text", text: "Let me look." }, { type: "tool_use", name: "bash", input: { command: "ls" } }] }],
    });
    const msg = await client(model).messages.create({ model: "m-1", max_tokens: 100, messages: [{ role: "user", content: "hi" }] });
    expect(msg.stop_reason).toBe("tool_use");
    expect(msg.content[0]).toEqual({ type: "text", text: "Let me look." });
    const tool = msg.content[1];
    expect(tool?.type).toBe("tool_use");
    if (tool?.type === "tool_use") {
      expect(tool.name).toBe("bash");
      expect(tool.input).toEqual({ command: "ls" });
      expect(tool.id).toMatch(/^toolu_/);
    }
    expect(msg.usage.input_tokens).toBeGreaterThan(0);
    expect(model.requests).toHaveLength(1);
    const headers = model.requests[0]?.headers ?? {};
    expect([headers["x-api-key"], headers["authorization"]]).toContainEqual(expect.stringContaining("test-key"));
    expect(model.requests[0]?.body.messages).toEqual([{ role: "user", content: "hi" }]);
  });

  it("streams thinking, text and tool_use (input_json_delta) that the SDK reassembles", async () => {
    model = await startScriptedModel({
      script: [
        {
          content: [
            { type: "thinking", thinking: "The user wants a file listing of the workspace." },
            { type: "text", text: "Listing the files in your workspace now." },
            { type: "tool_use", id: "toolu_fixed", name: "bash", input: { command: "ls -la", timeout: 5000 } },
          ],
          chunkChars: 5,
        },
      ],
    });
    const stream = client(model).messages.stream({ model: "m-1", max_tokens: 100, messages: [{ role: "user", content: "ls" }] });
    const deltas: string[] = [];
    stream.on("text", (t) => deltas.push(t));
    const final = await stream.finalMessage();
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join("")).toBe("Listing the files in your workspace now.");
    expect(final.content.map((b) => b.type)).toEqual(["thinking", "text", "tool_use"]);
    const [thinking, , tool] = final.content;
    if (thinking?.type === "thinking") {
      expect(thinking.thinking).toBe("The user wants a file listing of the workspace.");
      expect(thinking.signature).not.toBe("");
    }
    if (tool?.type === "tool_use") expect(tool).toMatchObject({ id: "toolu_fixed", input: { command: "ls -la", timeout: 5000 } });
    expect(final.stop_reason).toBe("tool_use");
    expect(final.usage.output_tokens).toBeGreaterThan(1);
    expect(model.requests[0]?.stream).toBe(true);
  });

  it("answers 429 with retry-after, which the SDK honours when it retries", async () => {
    model = await startScriptedModel({
      script: [{ kind: "error", status: 429, retryAfterSeconds: 0.05 }, { content: [{ type: "text", text: "ok" }] }],
    });
    const msg = await client(model, 2).messages.create({ model: "m", max_tokens: 10, messages: [{ role: "user", content: "x" }] });
    expect(msg.content[0]).toEqual({ type: "text", text: "ok" });
    expect(model.requests).toHaveLength(2);
    const gap = model.requests[1]!.receivedAt - model.requests[0]!.receivedAt;
    expect(gap).toBeGreaterThanOrEqual(45);
  });

  it("surfaces 429/529/500 to an SDK without retries as APIError with status and headers", async () => {
    model = await startScriptedModel({
      script: [
        { kind: "error", status: 429, retryAfterSeconds: 2 },
        { kind: "error", status: 529 },
        { kind: "error", status: 500 },
      ],
    });
    const c = client(model);
    for (const [status, type] of [[429, "rate_limit_error"], [529, "overloaded_error"], [500, "api_error"]] as const) {
      const err = await c.messages.create({ model: "m", max_tokens: 10, messages: [{ role: "user", content: "x" }] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Anthropic.APIError);
      const apiErr = err as InstanceType<typeof Anthropic.APIError>;
      expect(apiErr.status).toBe(status);
      expect((apiErr.error as { error?: { type?: string } }).error?.type).toBe(type);
      if (status === 429) expect(apiErr.headers?.get("retry-after")).toBe("2");
    }
  });

  it("reports cache reads for a prefix marked cache_control that an earlier request wrote", async () => {
    model = await startScriptedModel({ script: byStep([], { content: [{ type: "text", text: "ok" }] }) });
    const c = client(model);
    const system = [{ type: "text" as const, text: "You are terse. ".repeat(50), cache_control: { type: "ephemeral" as const } }];
    const first = await c.messages.create({ model: "m", max_tokens: 10, system, messages: [{ role: "user", content: "one" }] });
    expect(first.usage.cache_creation_input_tokens).toBeGreaterThan(0);
    expect(first.usage.cache_read_input_tokens).toBe(0);
    const second = await c.messages.create({ model: "m", max_tokens: 10, system, messages: [{ role: "user", content: "two" }] });
    expect(second.usage.cache_read_input_tokens).toBe(first.usage.cache_creation_input_tokens);
    expect(second.usage.cache_creation_input_tokens).toBe(0);
  });

  it("answers by conversation step so a repeated request gets the same answer", async () => {
    model = await startScriptedModel({
      script: byStep([{ content: [{ type: "text", text: "step0" }] }, { content: [{ type: "text", text: "step1" }] }]),
    });
    const c = client(model);
    const ask = (messages: Anthropic.MessageParam[]) => c.messages.create({ model: "m", max_tokens: 10, messages });
    expect((await ask([{ role: "user", content: "a" }])).content[0]).toEqual({ type: "text", text: "step0" });
    expect((await ask([{ role: "user", content: "a" }])).content[0]).toEqual({ type: "text", text: "step0" });
    const two = await ask([
      { role: "user", content: "a" },
      { role: "assistant", content: "step0" },
      { role: "user", content: "b" },
    ]);
    expect(two.content[0]).toEqual({ type: "text", text: "step1" });
  });

  it("delays the first byte by the scripted latency and drops connections on request", async () => {
    model = await startScriptedModel({
      script: [{ content: [{ type: "text", text: "slow" }], latency: { firstByteMs: 80 } }, { kind: "disconnect" }],
    });
    const c = client(model);
    const t0 = Date.now();
    await c.messages.create({ model: "m", max_tokens: 10, messages: [{ role: "user", content: "x" }] });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(75);
    const err = await c.messages.create({ model: "m", max_tokens: 10, messages: [{ role: "user", content: "x" }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.APIConnectionError);
  });

  it("answers a prompt over its context window with the API's 400 prompt is too long, without asking the script", async () => {
    let asked = 0;
    model = await startScriptedModel({
      script: () => {
        asked++;
        return { content: [{ type: "text", text: "fits" }] };
      },
      contextWindow: (body) => (body.model === "small" ? 50 : undefined),
    });
    const c = client(model);
    const messages: Anthropic.MessageParam[] = [{ role: "user", content: "x".repeat(400) }];
    const tokens = promptTokens({ messages });
    expect(tokens).toBe(Math.ceil(JSON.stringify({ role: "user", text: "x".repeat(400) }).length / 4));
    const err = await c.messages.create({ model: "small", max_tokens: 10, messages }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    const body = (err as InstanceType<typeof Anthropic.APIError>).error as { error?: { type?: string; message?: string } };
    expect(body.error?.type).toBe("invalid_request_error");
    expect(body.error?.message).toBe(`prompt is too long: ${tokens} tokens > 50 maximum`);
    expect(asked).toBe(0);
    expect((await c.messages.create({ model: "large", max_tokens: 10, messages })).content[0]).toEqual({ type: "text", text: "fits" });
    model.setContextWindow(undefined);
    expect((await c.messages.create({ model: "small", max_tokens: 10, messages })).usage.input_tokens).toBe(tokens);
  });

  it("counts tokens (POST /v1/messages/count_tokens) as usage reports them, for prompts of any size", async () => {
    model = await startScriptedModel({ script: [{ content: [{ type: "text", text: "ok" }] }], contextWindow: 10 });
    const c = client(model);
    const request = {
      model: "m",
      system: [{ type: "text" as const, text: "be brief", cache_control: { type: "ephemeral" as const } }],
      tools: [{ name: "bash", description: "runs", input_schema: { type: "object" as const, properties: {} } }],
      messages: [{ role: "user" as const, content: "count me ".repeat(20) }],
    };
    const counted = await c.messages.countTokens(request);
    expect(counted.input_tokens).toBe(promptTokens(request));
    expect(counted.input_tokens).toBeGreaterThan(10);
    model.setContextWindow(undefined);
    const msg = await c.messages.create({ ...request, max_tokens: 10 });
    expect(msg.usage.input_tokens + (msg.usage.cache_creation_input_tokens ?? 0) + (msg.usage.cache_read_input_tokens ?? 0)).toBe(counted.input_tokens);
    expect(model.tokenCounts).toHaveLength(1);
    expect(model.requests).toHaveLength(1);
  });

  it("bySteps places a request by the step ids its tool results answer, however the conversation was shortened", async () => {
    const tools = [{ name: "bash", description: "runs", input_schema: { type: "object" as const, properties: {} } }];
    model = await startScriptedModel({
      script: bySteps({ steps: 3, step: (n) => ({ content: [{ type: "tool_use", name: "bash", input: { command: `echo ${n}` } }] }) }),
    });
    const c = client(model);
    const first = await c.messages.create({ model: "m", max_tokens: 10, tools, messages: [{ role: "user", content: "go" }] });
    expect(first.content[0]).toMatchObject({ type: "tool_use", id: "toolu_step0_0", input: { command: "echo 0" } });
    // A compacted conversation: a summary, then only the newest step and its result.
    const compacted: Anthropic.MessageParam[] = [
      { role: "user", content: "summary of steps before" },
      { role: "assistant", content: [{ type: "tool_use", id: "toolu_step1_0", name: "bash", input: {} }] },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_step1_0", content: "1" }] },
    ];
    const third = await c.messages.create({ model: "m", max_tokens: 10, tools, messages: compacted });
    expect(third.content[0]).toMatchObject({ type: "tool_use", id: "toolu_step2_0", input: { command: "echo 2" } });
    const summarising = await c.messages.create({
      model: "m",
      max_tokens: 10,
      tools,
      tool_choice: { type: "none" },
      messages: compacted,
    });
    expect(summarising.content[0]?.type).toBe("text");
    expect(stepOf(model.requests[2]!.body)).toBe("summary");
    const last: Anthropic.MessageParam[] = [...compacted.slice(0, 1), { role: "assistant", content: [{ type: "tool_use", id: "toolu_step2_0", name: "bash", input: {} }] }, { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_step2_0", content: "2" }] }];
    expect((await c.messages.create({ model: "m", max_tokens: 10, tools, messages: last })).content[0]).toEqual({ type: "text", text: "Done." });
  });
});
