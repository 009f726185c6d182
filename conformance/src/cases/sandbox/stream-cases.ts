import type { ConformanceCase } from "../../runner/case.js";
import { check, checkEqual } from "../../runner/assertions.js";
import { withSandbox, X } from "./sandbox-helpers.js";

/** Reads an ExecuteStream to its end (or `stopAfterBytes`), bounded by the case signal. */
async function readStream(
  ctx: Parameters<ConformanceCase["run"]>[0],
  req: { sandboxId: string; command: string; key: string; resumeOffset?: number },
  stopAfterBytes = Infinity,
) {
  const stop = new AbortController();
  ctx.signal.addEventListener("abort", () => stop.abort(), { once: true });
  const chunks: { offset: number; data: Buffer }[] = [];
  let result: { output: string; isError: boolean } | undefined;
  try {
    const stream = ctx.rpc.serverStream(
      X.executeStream,
      { sandboxId: req.sandboxId, name: "bash", input: { command: req.command } as never, idempotencyKey: req.key, resumeOffset: BigInt(req.resumeOffset ?? 0) },
      { signal: stop.signal },
    );
    for await (const msg of stream) {
      if (msg.message.case === "chunk") {
        chunks.push({ offset: Number(msg.message.value.offset), data: Buffer.from(msg.message.value.data) });
        if (chunks.reduce((n, c) => n + c.data.length, 0) >= stopAfterBytes) break;
      } else if (msg.message.case === "result") {
        result = msg.message.value;
      }
    }
  } finally {
    stop.abort();
  }
  return { chunks, result };
}

function checkContiguous(chunks: { offset: number; data: Buffer }[], from: number, what: string): Buffer {
  let at = from;
  for (const c of chunks) {
    checkEqual(c.offset, at, `${what}: chunk offset`);
    at += c.data.length;
  }
  return Buffer.concat(chunks.map((c) => c.data));
}

export const streamCases: ConformanceCase[] = [
  {
    id: "sandbox/SBX-10/stream-and-resume",
    requirement: "SBX-10",
    level: "MUST",
    feature: "sandbox.stream",
    title: "ExecuteStream sends contiguous chunks then the result; re-opened with the key and resume_offset it sends the rest without loss",
    timeoutMs: 60_000,
    async run(ctx) {
      await withSandbox(ctx, async (sandboxId) => {
        const key = ctx.uniqueId("stream");
        const command = "for i in $(seq 1 40); do echo line-$i; sleep 0.02; done";
        const first = await readStream(ctx, { sandboxId, command, key }, 30);
        const head = checkContiguous(first.chunks, 0, "first stream");
        check(head.length > 0, "the first stream must deliver output before it is dropped");
        const rest = await readStream(ctx, { sandboxId, command, key, resumeOffset: head.length });
        const tail = checkContiguous(rest.chunks, head.length, "resumed stream");
        check(rest.result !== undefined, "the resumed stream must end with the result");
        const expected = Array.from({ length: 40 }, (_, i) => `line-${i + 1}\n`).join("");
        checkEqual(Buffer.concat([head, tail]).toString(), expected, "output across the resume");
      });
    },
  },
];
