import { create } from "@bufbuild/protobuf";
import type { OmaSessionsClient } from "@oma/client";
import { EventSchema, type Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { describe, expect, it } from "vitest";
import { fromInt64 } from "../int64.js";
import { LogReader } from "./log-reader.js";

/** A log of `n` events and a client whose GetEvents serves it and counts the calls. */
function logOf(n: number) {
  const log: Event[] = Array.from({ length: n }, (_, i) => create(EventSchema, { seq: BigInt(i + 1), payload: { case: "userMessage", value: {} } }));
  const calls = { getEvents: 0 };
  const client = {
    async getEvents(req: { afterSeq: bigint; limit: number }) {
      calls.getEvents++;
      const after = fromInt64(req.afterSeq);
      return { events: log.slice(after, after + req.limit), headSeq: BigInt(log.length) };
    },
  } as unknown as OmaSessionsClient;
  const append = (count: number) => {
    for (let i = 0; i < count; i++) log.push(create(EventSchema, { seq: BigInt(log.length + 1), payload: { case: "userMessage", value: {} } }));
    return log.slice(log.length - count);
  };
  return { log, client, calls, append };
}

const seqs = (r: LogReader) => r.events.map((e) => fromInt64(e.seq));

describe("LogReader", () => {
  it("is behind until its first read", async () => {
    const { client, calls } = logOf(3);
    const reader = new LogReader(client, "s");
    expect(reader.behind).toBe(true);
    await reader.refresh();
    expect(seqs(reader)).toEqual([1, 2, 3]);
    expect(reader.behind).toBe(false);
    expect(calls.getEvents).toBe(1);
  });

  it("takes the brain's own appends that follow its head without reading", async () => {
    const { client, calls, append } = logOf(2);
    const reader = new LogReader(client, "s");
    await reader.refresh();
    reader.add(append(2));
    expect(seqs(reader)).toEqual([1, 2, 3, 4]);
    expect(reader.behind).toBe(false);
    expect(calls.getEvents).toBe(1);
  });

  it("is behind when an append lands past a gap, and a read fills the gap", async () => {
    const { client, append } = logOf(2);
    const reader = new LogReader(client, "s");
    await reader.refresh();
    append(1); // someone else's
    reader.add(append(1));
    expect(seqs(reader)).toEqual([1, 2]);
    expect(reader.behind).toBe(true);
    await reader.refresh();
    expect(seqs(reader)).toEqual([1, 2, 3, 4]);
    expect(reader.behind).toBe(false);
  });

  it("fills a gap from events the watch delivered, at catchUp, in any order and more than once, without reading", async () => {
    const { client, calls, append } = logOf(1);
    const reader = new LogReader(client, "s");
    await reader.refresh();
    const [theirs, mine] = append(2);
    reader.add([mine!]);
    expect(reader.behind).toBe(true);
    reader.heard(theirs!);
    reader.heard(mine!);
    reader.heard(theirs!);
    await reader.catchUp();
    expect(seqs(reader)).toEqual([1, 2, 3]);
    expect(reader.behind).toBe(false);
    expect(calls.getEvents).toBe(1);
  });

  it("keeps what the watch delivered out of the copy until catchUp, so a step's head is the one it decided on", async () => {
    const { client, calls, append } = logOf(1);
    const reader = new LogReader(client, "s");
    await reader.refresh();
    const [theirs] = append(1);
    reader.heard(theirs!);
    expect(reader.headSeq).toBe(1);
    expect(reader.behind).toBe(true);
    await reader.catchUp();
    expect(seqs(reader)).toEqual([1, 2]);
    expect(calls.getEvents).toBe(1);
  });

  it("reads at catchUp when a gap is left that the watch did not fill", async () => {
    const { client, calls, append } = logOf(1);
    const reader = new LogReader(client, "s");
    await reader.refresh();
    append(1);
    reader.add(append(1));
    await reader.catchUp();
    expect(seqs(reader)).toEqual([1, 2, 3]);
    expect(calls.getEvents).toBe(2);
    await reader.catchUp();
    expect(calls.getEvents).toBe(2);
  });

  it("is behind when told so (a guarded append refused), until it has read again", async () => {
    const { client, calls, append } = logOf(1);
    const reader = new LogReader(client, "s");
    await reader.refresh();
    append(1);
    reader.markBehind();
    expect(reader.behind).toBe(true);
    await reader.refresh();
    expect(seqs(reader)).toEqual([1, 2]);
    expect(reader.behind).toBe(false);
    expect(calls.getEvents).toBe(2);
  });

  it("stays behind when a read fails", async () => {
    const { client } = logOf(1);
    const failing = { ...client, getEvents: async () => Promise.reject(new Error("storage refused")) } as unknown as OmaSessionsClient;
    const reader = new LogReader(failing, "s");
    await expect(reader.refresh()).rejects.toThrow("storage refused");
    expect(reader.behind).toBe(true);
  });

  it("reads a log longer than a page in pages", async () => {
    const { client, calls } = logOf(2_500);
    const reader = new LogReader(client, "s");
    await reader.refresh();
    expect(reader.headSeq).toBe(2_500);
    expect(calls.getEvents).toBe(3);
  });
});
