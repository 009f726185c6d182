import { setTimeout as sleep } from "node:timers/promises";
import type { SessionStorage } from "./session-storage.js";
import { wrapStorageWrite } from "./wrap-storage-write.js";

/**
 * A fault-injection hook for conformance testing, off unless asked for (`oma serve
 * --fault-storage-delay-ms N`; never set by `npm start`): every synced write of the session
 * log waits `delayMs` before it starts and again after it is durable. An append is then in
 * flight long enough that a kill -9 right after the first acknowledgement lands before
 * later appends are durable, or between an fsync and its acknowledgement — and, against an
 * implementation that acknowledges before its write is durable, in the window where an
 * acknowledged event is not yet on disk (SESS-5). Reads are not delayed.
 */
export function delayStorage(inner: SessionStorage, delayMs: number): SessionStorage {
  return wrapStorageWrite(inner, async (writes) => {
    await sleep(delayMs);
    const outcomes = await inner.write(writes);
    await sleep(delayMs);
    return outcomes;
  });
}
