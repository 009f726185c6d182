/**
 * The script language of the scripted model: what it answers to each request of the
 * Anthropic Messages API. Everything a test or benchmark needs to make a model call
 * deterministic: content blocks, stop reasons, usage, HTTP errors and latency.
 */

/** A content block the scripted model produces. */
export type ScriptedBlock =
  | { readonly type: "text"; readonly text: string }
  | { readonly type: "thinking"; readonly thinking: string; readonly signature?: string }
  | { readonly type: "tool_use"; readonly id?: string; readonly name: string; readonly input: Record<string, unknown> };

/** Latency of one response, in milliseconds. */
export interface ScriptedLatency {
  /** Delay before the response headers are sent (time to first byte). */
  readonly firstByteMs?: number;
  /** Delay between two streamed events (and between text chunks). */
  readonly perChunkMs?: number;
}

/** A successful model response. */
export interface ScriptedMessage {
  readonly kind?: "message";
  readonly content: readonly ScriptedBlock[];
  /** Defaults to "tool_use" when the content has a tool_use block, else "end_turn". */
  readonly stopReason?: "end_turn" | "tool_use" | "max_tokens" | "stop_sequence" | "pause_turn" | "refusal";
  /** Output tokens reported; defaults to a count derived from the content. */
  readonly outputTokens?: number;
  /** Overrides the model name echoed back (defaults to the request's model). */
  readonly model?: string;
  /** Text deltas are cut into chunks of this many characters (default 16). */
  readonly chunkChars?: number;
  readonly latency?: ScriptedLatency;
}

/** An HTTP error response, as the Messages API sends it. */
export interface ScriptedError {
  readonly kind: "error";
  /** 400, 401, 404, 429, 500, 529, … */
  readonly status: number;
  /** Seconds, sent as `retry-after` (and `retry-after-ms` when fractional). */
  readonly retryAfterSeconds?: number;
  /** The API's error type; derived from the status when omitted. */
  readonly errorType?: string;
  readonly message?: string;
  readonly latency?: ScriptedLatency;
}

/** The connection is dropped without an answer (a network failure seen by the client). */
export interface ScriptedDisconnect {
  readonly kind: "disconnect";
  readonly latency?: ScriptedLatency;
}

export type ScriptedResponse = ScriptedMessage | ScriptedError | ScriptedDisconnect;

/** A request the scripted model received, kept for assertions. */
export interface RecordedRequest {
  /** 1-based arrival order. */
  readonly index: number;
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The parsed JSON body of POST /v1/messages (or of /v1/messages/count_tokens, which has no max_tokens). */
  readonly body: MessagesRequestBody;
  readonly stream: boolean;
  /** Milliseconds since the epoch when the request's body was complete, to the microsecond (`performance.timeOrigin + performance.now()`). */
  readonly receivedAt: number;
  /** What the scripted model answered with. */
  response?: ScriptedResponse;
}

/** The parts of a Messages API request body the scripted model reads. */
export interface MessagesRequestBody {
  readonly model: string;
  readonly max_tokens: number;
  readonly messages: readonly { role: "user" | "assistant"; content: string | readonly Record<string, unknown>[] }[];
  readonly system?: string | readonly Record<string, unknown>[];
  readonly tools?: readonly Record<string, unknown>[];
  readonly stream?: boolean;
  readonly [key: string]: unknown;
}

/** Decides the response to a request: a queue, a per-step table, or any function. */
export type Responder = (request: RecordedRequest) => ScriptedResponse | Promise<ScriptedResponse>;
