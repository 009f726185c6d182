import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { PromptCache, promptParts, sumTokens } from "./prompt-cache.js";
import { errorBody, messageBody, streamEvents } from "./render.js";
import type { MessagesRequestBody, RecordedRequest, Responder, ScriptedLatency, ScriptedResponse } from "./types.js";

export interface ScriptedModelOptions {
  /** A queue of responses (taken in arrival order) or a function of the request. */
  readonly script?: readonly ScriptedResponse[] | Responder;
  /** Latency applied to every response that sets none itself. */
  readonly latency?: ScriptedLatency;
  /**
   * The context window, in input tokens (`promptTokens`): a request over it is answered
   * like the API answers one, with 400 `invalid_request_error` "prompt is too long: N
   * tokens > M maximum", and the script is not asked. A function decides per request
   * (e.g. per model name); undefined means no limit.
   */
  readonly contextWindow?: ContextWindow;
  readonly host?: string;
  /** 0 (default) picks a free port. */
  readonly port?: number;
}

export interface ScriptedModel {
  /** The base URL to give the SDK (`baseURL` or `ANTHROPIC_BASE_URL`). */
  readonly url: string;
  /** Every Messages request received (POST /v1/messages), in arrival order. */
  readonly requests: readonly RecordedRequest[];
  /** Every token-counting request received (POST /v1/messages/count_tokens), in arrival order. */
  readonly tokenCounts: readonly RecordedRequest[];
  /** Appends responses to the queue (switches to queue mode). */
  enqueue(...responses: ScriptedResponse[]): void;
  /** Replaces the script. */
  setScript(script: readonly ScriptedResponse[] | Responder): void;
  setLatency(latency: ScriptedLatency): void;
  setContextWindow(window: ContextWindow | undefined): void;
  close(): Promise<void>;
}

/** A context window in tokens, or a function of the request that gives one (undefined: no limit). */
export type ContextWindow = number | ((body: MessagesRequestBody) => number | undefined);

/** Largest request body accepted, like the API's own request size limit. */
export const MAX_REQUEST_BYTES = 32 * 1024 * 1024;

/**
 * A local HTTP server that speaks the Anthropic Messages API (POST /v1/messages, JSON or
 * SSE streaming, and POST /v1/messages/count_tokens) from a script, so a brain driven by
 * the real SDK behaves the same on every run. It records every request, simulates prompt
 * caching from `cache_control` markers and a context window, and can answer with HTTP
 * errors, dropped connections and latency.
 */
export async function startScriptedModel(options: ScriptedModelOptions = {}): Promise<ScriptedModel> {
  const instance = randomBytes(4).toString("hex");
  const requests: RecordedRequest[] = [];
  const tokenCounts: RecordedRequest[] = [];
  let contextWindow = options.contextWindow;
  const cache = new PromptCache();
  let queue: ScriptedResponse[] = [];
  let responder: Responder | undefined;
  let latency: ScriptedLatency = options.latency ?? {};
  const sockets = new Set<import("node:net").Socket>();

  const setScript = (script: readonly ScriptedResponse[] | Responder) => {
    if (typeof script === "function") {
      responder = script;
      queue = [];
    } else {
      responder = undefined;
      queue = [...script];
    }
  };
  if (options.script) setScript(options.script);

  const decide = async (req: RecordedRequest): Promise<ScriptedResponse> => {
    if (responder) return responder(req);
    return queue.shift() ?? { kind: "error", status: 400, message: "scripted model: the script has no response left" };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "").split("?")[0] ?? "";
    const counting = path.endsWith("/v1/messages/count_tokens");
    if (req.method !== "POST" || !(counting || path.endsWith("/v1/messages"))) {
      return send(res, 404, { type: "error", error: { type: "not_found_error", message: `no route ${req.method} ${path}` } });
    }
    let body: MessagesRequestBody;
    try {
      body = JSON.parse(await readBody(req)) as MessagesRequestBody;
    } catch {
      return send(res, 400, { type: "error", error: { type: "invalid_request_error", message: "body is not JSON" } });
    }
    if (typeof body.model !== "string" || !Array.isArray(body.messages) || (!counting && typeof body.max_tokens !== "number")) {
      const required = counting ? "model and messages are required" : "model, messages and max_tokens are required";
      return send(res, 400, { type: "error", error: { type: "invalid_request_error", message: required } });
    }
    const log = counting ? tokenCounts : requests;
    const recorded: RecordedRequest = {
      index: log.length + 1,
      method: req.method,
      path,
      headers: { ...req.headers },
      body,
      stream: body.stream === true,
      receivedAt: performance.timeOrigin + performance.now(),
    };
    log.push(recorded);
    // Counting answers for any size; only a Messages request is held to the window.
    const parts = promptParts(body);
    const tokens = sumTokens(parts);
    if (counting) return send(res, 200, { input_tokens: tokens });
    const window = typeof contextWindow === "function" ? contextWindow(body) : contextWindow;
    if (window !== undefined && tokens > window) {
      const tooLong: ScriptedResponse = { kind: "error", status: 400, errorType: "invalid_request_error", message: `prompt is too long: ${tokens} tokens > ${window} maximum` };
      recorded.response = tooLong;
      return send(res, 400, errorBody(tooLong));
    }
    const response = await decide(recorded);
    recorded.response = response;
    const lat = { ...latency, ...(response.latency ?? {}) };
    if (lat.firstByteMs) await sleep(lat.firstByteMs);
    if (res.destroyed) return;
    if (response.kind === "disconnect") {
      req.socket.destroy();
      return;
    }
    if (response.kind === "error") {
      const headers: Record<string, string> = {};
      if (response.retryAfterSeconds !== undefined) {
        headers["retry-after"] = String(Math.ceil(response.retryAfterSeconds));
        headers["retry-after-ms"] = String(Math.round(response.retryAfterSeconds * 1000));
      }
      return send(res, response.status, errorBody(response), headers);
    }
    const id = `msg_${instance}${String(recorded.index).padStart(4, "0")}`;
    const usage = cache.usageFor(body, parts);
    if (!recorded.stream) return send(res, 200, messageBody(response, id, body.model, usage));
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", "request-id": `req_${id}` });
    for (const ev of streamEvents(response, id, body.model, usage)) {
      if (res.destroyed) return;
      res.write(`event: ${ev.event}\ndata: ${JSON.stringify(ev.data)}\n\n`);
      if (lat.perChunkMs) await sleep(lat.perChunkMs);
    }
    res.end();
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, { type: "error", error: { type: "api_error", message: String(err) } });
      else res.destroy();
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? "127.0.0.1"}:${port}`,
    requests,
    tokenCounts,
    enqueue: (...responses) => {
      responder = undefined;
      queue.push(...responses);
    },
    setScript,
    setLatency: (l) => {
      latency = l;
    },
    setContextWindow: (w) => {
      contextWindow = w;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const json = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(json), ...headers });
  res.end(json);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_REQUEST_BYTES) throw new Error("request too large");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}
