import { describe, expect, it } from "vitest";
import { isOmaError } from "../errors/oma-error.js";
import { MemorySessionStore } from "../store/memory-session-store.js";
import { agent, userEvent } from "../store/session-store.contract.js";
import { watchEvents } from "./watch-events.js";

const w = { tenant: "t", sessionId: "w" };
const seqOf = (m: { message?: { case?: string; value?: unknown } }) => (m.message?.case === "event" ? Number((m.message.value as { seq: bigint }).seq) : m.message?.case);

// SESS-12 at the unit level: appends land between every step of a replay that reads 3
// events at a time, and the watch still yields each seq once, in order, then caught_up.
describe("watchEvents over the memory store", () => {
  it("SESS-12: appends during the replay are neither lost nor repeated", async () => {
    const store = new MemorySessionStore();
    await store.createSession({ ...w, labels: {}, agent });
    for (let i = 0; i < 10; i++) await store.append(w, [userEvent(`${i}`)]);
    const watch = watchEvents(store, { ref: w, afterSeq: 2, maxLagEvents: 1000, heartbeatMs: 60_000, replayPageSize: 3, signal: new AbortController().signal });
    const seen: (number | string | undefined)[] = [];
    for (let step = 0; step < 40; step++) {
      const next = await watch.next();
      seen.push(seqOf(next.value!));
      if (step < 15) await store.append(w, [userEvent(`live ${step}`), userEvent(`live ${step}b`)]);
      if (seen.includes("caughtUp") && seen.includes(40)) break;
    }
    await watch.return(undefined);
    const events = seen.filter((s) => typeof s === "number");
    expect(events).toEqual(Array.from({ length: 38 }, (_, i) => i + 3));
    expect(seen.filter((s) => s === "caughtUp")).toHaveLength(1);
    await store.close();
  }, 10_000);

  it("SESS-13: lag beyond the bound ends the watch with WATCHER_TOO_SLOW at the last sent seq", async () => {
    const store = new MemorySessionStore();
    await store.createSession({ ...w, labels: {}, agent });
    const watch = watchEvents(store, { ref: w, afterSeq: 0, maxLagEvents: 5, heartbeatMs: 60_000, signal: new AbortController().signal });
    expect(seqOf((await watch.next()).value!)).toBe("caughtUp");
    await store.append(w, [userEvent("a"), userEvent("b")]);
    expect(seqOf((await watch.next()).value!)).toBe(1);
    // The consumer pauses while 6 more events arrive: 8 - 1 = 7 > 5.
    await store.append(w, Array.from({ length: 6 }, (_, i) => userEvent(`${i}`)));
    const err = await watch.next().then(() => undefined, (e: unknown) => e);
    expect(isOmaError(err, "WATCHER_TOO_SLOW")).toBe(true);
    expect((err as { metadata: Record<string, string> }).metadata["last_sent_seq"]).toBe("1");
    await store.close();
  }, 10_000);
});
