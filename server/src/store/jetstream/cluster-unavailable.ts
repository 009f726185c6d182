import { JetStreamApiError, JetStreamError } from "@nats-io/jetstream";
import { ClosedConnectionError, ConnectionError, DrainingConnectionError, NoRespondersError, RequestError, TimeoutError } from "@nats-io/transport-node";
import { OmaError } from "../../errors/oma-error.js";

/** How long a read waits for a cluster that lost a node to answer again (the default). */
export const UNAVAILABLE_WAIT_MS = 15_000;

/** JetStream's "temporarily unavailable" (a stream or consumer without a leader, being elected). */
const TEMPORARILY_UNAVAILABLE = 10008;

/**
 * Whether an error of the NATS client is a fault that may pass while the cluster heals: a
 * request that timed out, nobody subscribed to answer it, or JetStream without a leader
 * for the stream (being elected).
 */
function mayPass(err: unknown): boolean {
  return err instanceof TimeoutError || err instanceof NoRespondersError || (err instanceof JetStreamApiError && err.code === TEMPORARILY_UNAVAILABLE);
}

/**
 * Whether an error of the NATS client says the cluster did not answer, rather than that it
 * refused the request: a fault that may pass (above), a failed request, the connection
 * lost, closed or draining, or a JetStream status (a pull that got 408/409/503: its
 * consumer's replica gone or moved).
 */
export function isClusterUnavailable(err: unknown): boolean {
  return (
    mayPass(err) ||
    err instanceof RequestError ||
    err instanceof ConnectionError ||
    err instanceof ClosedConnectionError ||
    err instanceof DrainingConnectionError ||
    err instanceof JetStreamError
  );
}

/**
 * The answer for a call the cluster did not serve: UNAVAILABLE / STORAGE_UNAVAILABLE, an
 * answer a client can act on by trying again later (SESS-21), not INTERNAL. `cause` names the fault (the NATS error's
 * name, or OMA's word for what it saw). A write's answer says that it may have been
 * stored: one retried under the same idempotency key is stored once.
 */
export function storageUnavailable(what: string, cause: unknown, options: { write?: boolean } = {}): OmaError {
  const name = cause instanceof Error ? cause.name : String(cause);
  const detail = cause instanceof Error && cause.message ? `: ${cause.message}` : "";
  const outcome = options.write ? "the write may or may not have been stored; try again" : "try again";
  return new OmaError("STORAGE_UNAVAILABLE", `the server's NATS cluster did not answer (${what}, ${name}${detail}); ${outcome}`, { cause: name }, { cause });
}

/** `err` as the answer a client gets: STORAGE_UNAVAILABLE when the cluster did not answer, else unchanged. */
export function asStorageAnswer(err: unknown, what: string, options: { write?: boolean } = {}): unknown {
  return isClusterUnavailable(err) ? storageUnavailable(what, err, options) : err;
}

/**
 * Runs a read again while the cluster does not answer but may (see `mayPass`), up to
 * `waitMs`; then, or at once for a connection closed or lost, STORAGE_UNAVAILABLE naming
 * `what`. Only for what can be repeated safely: reads, creating a scan's consumer, and
 * the store's start (creating its stream or bucket if missing). Any other error is the
 * cluster's answer and is thrown as it is.
 */
export async function whileUnavailable<T>(op: () => Promise<T>, waitMs = UNAVAILABLE_WAIT_MS, what = "a read"): Promise<T> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return await op();
    } catch (err) {
      if (!isClusterUnavailable(err)) throw err;
      if (!mayPass(err)) throw storageUnavailable(what, err);
      if (Date.now() > deadline) throw storageUnavailable(`${what}, tried for ${waitMs} ms`, err);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
