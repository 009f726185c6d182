import Anthropic from "@anthropic-ai/sdk";
import type { ModelRetryPolicy } from "./model-retry-policy.js";

/** How one failed model call is recorded and whether it is worth another attempt (HARN-12). */
export interface ModelFailure {
  /**
   * SessionError.code: MODEL_RATE_LIMITED, MODEL_OVERLOADED, MODEL_SERVER_ERROR,
   * MODEL_CONNECTION_ERROR, MODEL_PROMPT_TOO_LONG (a 400 for a prompt over the model's
   * context window), MODEL_REQUEST_INVALID.
   */
  readonly code: string;
  readonly message: string;
  readonly retryable: boolean;
  /** HTTP status, 0 when there was no response. */
  readonly httpStatus: number;
  /** The server's retry-after, in ms, when it sent one. */
  readonly retryAfterMs: number | undefined;
}

/** How the Messages API words a request over the model's context window ("prompt is too long: N tokens > M maximum"). */
const PROMPT_TOO_LONG = /prompt is too long/i;

/** Classifies an error the SDK threw. 429, 529, 5xx, 408/409 and connection failures are retryable. */
export function classifyModelError(err: unknown): ModelFailure {
  if (err instanceof Anthropic.APIConnectionError) {
    return { code: "MODEL_CONNECTION_ERROR", message: err.message, retryable: true, httpStatus: 0, retryAfterMs: undefined };
  }
  if (err instanceof Anthropic.APIError && typeof err.status === "number") {
    const status = err.status;
    const retryAfterMs = retryAfterOf(err.headers);
    const code =
      status === 429
        ? "MODEL_RATE_LIMITED"
        : status === 529
          ? "MODEL_OVERLOADED"
          : status >= 500
            ? "MODEL_SERVER_ERROR"
            : status === 400 && PROMPT_TOO_LONG.test(err.message)
              ? "MODEL_PROMPT_TOO_LONG"
              : "MODEL_REQUEST_INVALID";
    const retryable = status === 429 || status >= 500 || status === 408 || status === 409;
    return { code, message: err.message, retryable, httpStatus: status, retryAfterMs };
  }
  const message = err instanceof Error ? err.message : String(err);
  // A stream that broke mid-response (socket reset, malformed event) is a connection failure.
  return { code: "MODEL_CONNECTION_ERROR", message, retryable: true, httpStatus: 0, retryAfterMs: undefined };
}

/** `retry-after-ms`, else `retry-after` (seconds or an HTTP date), as the API documents them. */
export function retryAfterOf(headers: Headers | undefined): number | undefined {
  const ms = headers?.get("retry-after-ms");
  if (ms && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const value = headers?.get("retry-after");
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}

/** The wait before attempt `attempt + 1`: the server's retry-after if it gave one, else exponential backoff. */
export function retryDelayMs(failure: ModelFailure, attempt: number, policy: ModelRetryPolicy): number {
  const backoff = policy.initialBackoffMs * 2 ** (attempt - 1);
  return Math.min(policy.maxBackoffMs, failure.retryAfterMs ?? backoff);
}
