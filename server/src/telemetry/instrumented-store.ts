import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { SessionStatus } from "@oma/client/gen/oma/v1/session_pb.js";
import { durationMs } from "@bufbuild/protobuf/wkt";
import { isOmaError } from "../errors/oma-error.js";
import type { SessionRef } from "../store/session-ref.js";
import type { SessionStorage, SessionWrite } from "../store/session-storage.js";
import { wrapStorageWrite } from "../store/wrap-storage-write.js";
import type {
  AcquireLeaseOptions, AppendOptions, AppendResult, CreateSessionInput, ListPage, ListQuery, LogListener, ReadQuery, ReadResult, SessionStore, Subscription,
} from "../store/session-store.js";
import type { OmaMetrics } from "./metrics.js";

/** A payload case as Prometheus sees it: `toolUse` → `tool_use`. */
export function payloadKind(event: Event): string {
  return (event.payload.case ?? "none").replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** The outcome label of a failed call: its OMA reason, else "error". */
function outcomeOf(err: unknown): string {
  return isOmaError(err) ? err.reason : "error";
}

/**
 * A SessionStore that counts what passes through it: append latency and outcome, events
 * by kind, the model tokens and retries the brains record (model_usage and error events:
 * the log is where the facts are), lease operations and open watches. It changes nothing.
 */
export class InstrumentedSessionStore implements SessionStore {
  readonly #store: SessionStore;
  readonly #metrics: OmaMetrics;

  constructor(store: SessionStore, metrics: OmaMetrics) {
    this.#store = store;
    this.#metrics = metrics;
  }

  createSession(input: CreateSessionInput) {
    return this.#store.createSession(input);
  }
  getSession(ref: SessionRef) {
    return this.#store.getSession(ref);
  }
  listSessions(query: ListQuery): Promise<ListPage> {
    return this.#store.listSessions(query);
  }
  deleteSession(ref: SessionRef) {
    return this.#store.deleteSession(ref);
  }
  readEvents(ref: SessionRef, query: ReadQuery): Promise<ReadResult> {
    return this.#store.readEvents(ref, query);
  }
  close() {
    return this.#store.close();
  }

  async append(ref: SessionRef, events: readonly Event[], options?: AppendOptions): Promise<AppendResult> {
    const end = this.#metrics.appendDuration.startTimer();
    try {
      const result = await this.#store.append(ref, events, options);
      end();
      this.#metrics.appends.inc({ outcome: result.duplicate ? "duplicate" : "ok" });
      if (!result.duplicate) for (const event of result.events) this.#count(event);
      return result;
    } catch (err) {
      this.#metrics.appends.inc({ outcome: outcomeOf(err) });
      throw err;
    }
  }

  acquireLease(ref: SessionRef, holder: string, ttlMs: number, options?: AcquireLeaseOptions) {
    return this.#lease("acquire", this.#store.acquireLease(ref, holder, ttlMs, options));
  }
  listDispatches(query: { readonly pageSize: number; readonly cursor?: string }) {
    return this.#store.listDispatches(query);
  }
  endDispatch(ref: SessionRef, harnessId: string) {
    return this.#store.endDispatch(ref, harnessId);
  }
  get dispatchHints() {
    return this.#store.dispatchHints;
  }
  claimDispatch(ref: SessionRef, harnessId: string, from: string | undefined, to: string | undefined) {
    return this.#store.claimDispatch(ref, harnessId, from, to);
  }
  renewLease(ref: SessionRef, epoch: number, ttlMs: number) {
    return this.#lease("renew", this.#store.renewLease(ref, epoch, ttlMs));
  }
  releaseLease(ref: SessionRef, epoch: number) {
    return this.#lease("release", this.#store.releaseLease(ref, epoch));
  }

  async subscribe(ref: SessionRef, listener: LogListener): Promise<Subscription> {
    const subscription = await this.#store.subscribe(ref, listener);
    this.#metrics.watchers.inc();
    let open = true;
    return {
      headSeq: subscription.headSeq,
      unsubscribe: () => {
        if (open) this.#metrics.watchers.dec();
        open = false;
        subscription.unsubscribe();
      },
    };
  }

  async #lease<T>(operation: string, call: Promise<T>): Promise<T> {
    try {
      const result = await call;
      this.#metrics.leaseOperations.inc({ operation, outcome: "ok" });
      return result;
    } catch (err) {
      this.#metrics.leaseOperations.inc({ operation, outcome: outcomeOf(err) });
      throw err;
    }
  }

  #count(event: Event): void {
    const m = this.#metrics;
    m.eventsAppended.inc({ kind: payloadKind(event) });
    const p = event.payload;
    if (p.case === "modelUsage") {
      const model = p.value.model || "unknown";
      m.modelTokens.inc({ model, type: "input" }, Number(p.value.inputTokens));
      m.modelTokens.inc({ model, type: "output" }, Number(p.value.outputTokens));
      m.modelTokens.inc({ model, type: "cache_read" }, Number(p.value.cacheReadInputTokens));
      m.modelTokens.inc({ model, type: "cache_creation" }, Number(p.value.cacheCreationInputTokens));
      if (p.value.duration) m.modelCallDuration.observe({ model }, durationMs(p.value.duration) / 1000);
    } else if (p.case === "error") {
      const code = p.value.code || "UNKNOWN";
      m.sessionErrors.inc({ code, retryable: String(p.value.retryable) });
      if (p.value.retryable) m.retries.inc({ code });
    } else if (p.case === "statusChanged" && p.value.status === SessionStatus.RESCHEDULING) {
      m.rewakes.inc();
    }
  }
}

/**
 * A SessionStorage that times each synced write (one fsync) and counts the events it
 * carries. Every other method passes through untouched.
 */
export function instrumentStorage(storage: SessionStorage, metrics: OmaMetrics): SessionStorage {
  return wrapStorageWrite(storage, async (writes: readonly SessionWrite[]) => {
    const end = metrics.storeWriteDuration.startTimer();
    const outcomes = await storage.write(writes);
    end();
    let events = 0;
    for (const w of writes) events += w.events.length;
    if (events > 0) metrics.storeWriteBatchEvents.observe(events);
    return outcomes;
  });
}
