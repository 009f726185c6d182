import { ANY_TENANT } from "../auth/principal.js";
import { AsyncQueue } from "./async-queue.js";

/** A worker as it announces itself: the tenant of its token ("*" serves every tenant), its id and room. */
export interface WorkerAnnouncement {
  readonly tenant: string;
  readonly workerId: string;
  readonly capacity: number;
  readonly labels: Readonly<Record<string, string>>;
}

/** A connected worker as dispatch sees it: its capacity and the brains it was handed. */
export interface WorkerConnection<T> extends WorkerAnnouncement {
  /** Tenant and id: two tenants' workers with one id are two workers. */
  readonly key: string;
  /** Harness ids of the brains handed to it that have not ended. */
  readonly assigned: Set<string>;
  readonly queue: AsyncQueue<T>;
}

/**
 * The workers connected to this server (HARN-16). A worker that connects again with the
 * same id (in its tenant) replaces its earlier stream and keeps the count of brains it runs.
 */
export class WorkerSet<T> {
  readonly #workers = new Map<string, WorkerConnection<T>>();
  #rotation = 0;

  connect(worker: WorkerAnnouncement): WorkerConnection<T> {
    const key = `${worker.tenant}/${worker.workerId}`;
    const old = this.#workers.get(key);
    const conn: WorkerConnection<T> = { ...worker, key, assigned: old?.assigned ?? new Set(), queue: new AsyncQueue() };
    old?.queue.close();
    this.#workers.set(key, conn);
    return conn;
  }

  /** Removes the connection unless a newer one of the same worker replaced it. */
  disconnect(conn: WorkerConnection<T>): void {
    if (this.#workers.get(conn.key) === conn) this.#workers.delete(conn.key);
  }

  /** Connected workers. */
  get size(): number {
    return this.#workers.size;
  }

  get(key: string): WorkerConnection<T> | undefined {
    return this.#workers.get(key);
  }

  closeAll(): void {
    for (const w of this.#workers.values()) w.queue.close();
  }

  /** Whether any connected worker may run a brain of this tenant (full or not). */
  anyServing(tenant: string): boolean {
    return [...this.#workers.values()].some((w) => serves(w, tenant));
  }

  /** Whether some open worker serving the tenant has room. */
  hasRoom(tenant: string): boolean {
    return this.#withRoom(tenant).length > 0;
  }

  #withRoom(tenant: string): WorkerConnection<T>[] {
    return [...this.#workers.values()].filter((w) => !w.queue.closed && w.assigned.size < w.capacity && serves(w, tenant));
  }

  /**
   * The least loaded open worker with room (assigned ÷ capacity) that serves the tenant,
   * round-robin among equals.
   */
  pick(tenant: string): WorkerConnection<T> | undefined {
    const workers = this.#withRoom(tenant);
    if (workers.length === 0) return undefined;
    const start = this.#rotation++ % workers.length;
    const rotated = [...workers.slice(start), ...workers.slice(0, start)];
    return rotated.reduce((best, w) => (w.assigned.size / w.capacity < best.assigned.size / best.capacity ? w : best));
  }
}

/** Whether a worker may run a brain of this tenant: a pool worker ("*") serves every tenant. */
function serves(worker: WorkerAnnouncement, tenant: string): boolean {
  return worker.tenant === ANY_TENANT || worker.tenant === tenant;
}
