import { propagation, ROOT_CONTEXT, type Attributes, type Context } from "@opentelemetry/api";
import { sessionAttributes } from "./tracing.js";

const headerGetter = {
  get: (headers: Headers, key: string) => headers.get(key) ?? undefined,
  keys: (headers: Headers) => [...headers.keys()],
};

/** How many carried contexts `CarriedContexts` keeps (a worker's brains each send one at a time). */
export const CARRIED_CONTEXTS_KEPT = 1024;
/** Headers longer than this (a large baggage) are read every time: with them the cache stays under 1 MiB. */
export const CARRIED_HEADERS_KEPT_BYTES = 1024;

/**
 * The caller's context and the session attributes of its baggage, by the values of the
 * headers the propagators read, worked out once: a brain sends the same ones with most of
 * its calls (a brain's are ~150 bytes). The oldest is forgotten past CARRIED_CONTEXTS_KEPT.
 */
export class CarriedContexts {
  readonly #byHeaders = new Map<string, { readonly parent: Context; readonly attributes: Attributes }>();

  /** The context the headers carry; undefined when they carry none (no propagator's field is set). */
  of(headers: Headers): { readonly parent: Context; readonly attributes: Attributes } | undefined {
    let key = "";
    let any = false;
    for (const field of propagation.fields()) {
      const value = headers.get(field);
      if (value !== null) any = true;
      key += `${value ?? ""}\n`;
    }
    if (!any) return undefined;
    let carried = this.#byHeaders.get(key);
    if (!carried) {
      const parent = propagation.extract(ROOT_CONTEXT, headers, headerGetter);
      carried = { parent, attributes: sessionAttributes(parent) };
      if (key.length > CARRIED_HEADERS_KEPT_BYTES) return carried;
      if (this.#byHeaders.size >= CARRIED_CONTEXTS_KEPT) this.#byHeaders.delete(this.#byHeaders.keys().next().value!);
      this.#byHeaders.set(key, carried);
    }
    return carried;
  }
}
