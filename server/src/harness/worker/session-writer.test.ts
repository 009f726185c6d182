import type { OmaSessionsClient } from "@oma/client";
import { afterEach, describe, expect, it } from "vitest";
import { FencedError } from "./brain-errors.js";
import { SessionWriter } from "./session-writer.js";

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => void unhandled.push(reason);

describe("SessionWriter's barrier", () => {
  afterEach(() => {
    process.off("unhandledRejection", onUnhandled);
    unhandled.length = 0;
  });

  it("a failed barrier that nothing waits on is not an unhandled rejection (it would end the worker process); a later append fails with it", async () => {
    process.on("unhandledRejection", onUnhandled);
    const client = { emitBatch: () => Promise.reject(new Error("never called")) } as unknown as OmaSessionsClient;
    const writer = new SessionWriter(client, "s", 1);
    const fenced = new FencedError("lease epoch 1 of session s was lost");
    writer.setBarrier(Promise.reject(fenced));
    await new Promise((r) => setTimeout(r, 50));
    expect(unhandled).toEqual([]);
    await expect(writer.emit([], "k")).rejects.toBe(fenced);
    await expect(writer.ready()).rejects.toBe(fenced);
  });
});
