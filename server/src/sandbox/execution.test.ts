import { describe, expect, it } from "vitest";
import { Execution, type ExecResult, type ExecutionEvent } from "./execution.js";

const result: ExecResult = { output: "abcdef", isError: false, exitCode: 0, truncated: false, durationMs: 1, timedOut: false };

async function drain(it: AsyncGenerator<ExecutionEvent>): Promise<ExecutionEvent[]> {
  const out: ExecutionEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
}

describe("Execution (SBX-10 buffer)", () => {
  it("a follower from an offset inside a chunk gets the rest, contiguous, then the result", async () => {
    const x = new Execution("bash", "fp");
    x.append(1, Buffer.from("abc"));
    const follower = drain(x.follow(2));
    x.append(2, Buffer.from("def"));
    x.finish(result);
    const events = await follower;
    const chunks = events.flatMap((e) => ("chunk" in e ? [[e.chunk.offset, Buffer.from(e.chunk.data).toString()]] : []));
    expect(chunks).toEqual([[2, "c"], [3, "def"]]);
    expect(events.at(-1)).toEqual({ result });
  });

  it("a failed execution throws its error to every follower", async () => {
    const x = new Execution("bash", "fp");
    const follower = drain(x.follow(0));
    x.fail(new Error("lost"));
    await expect(follower).rejects.toThrow("lost");
    await expect(x.done).rejects.toThrow("lost");
  });
});
