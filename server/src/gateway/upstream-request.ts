import * as http from "node:http";
import * as https from "node:https";
import { checkLiteral, guardedLookup, portOf, type OutboundPolicy } from "./outbound-policy.js";

/**
 * A fresh upstream connection for every request. A kept-alive one can be closed by the
 * upstream (its idle timeout) just as the next request is sent on it, and that request,
 * whose body may already be streamed, cannot be retried safely: the sandbox would see a 502
 * for a host that is up. A gateway's requests are few (a clone, a tool call), so the
 * connection set-up is cheap beside that.
 */
const agents = { "http:": new http.Agent({ keepAlive: false }), "https:": new https.Agent({ keepAlive: false }) };

/** The agent for every request the server's proxies send upstream (relay and guardedFetch). */
export const upstreamAgent = (url: URL): http.Agent => agents[url.protocol === "https:" ? "https:" : "http:"];

/** Request headers a proxy passes upstream; everything else (cookies, the sandbox's own authorization, hop-by-hop) stays behind. */
const PASSED_REQUEST_HEADERS = ["accept", "accept-encoding", "content-type", "content-encoding", "content-length", "git-protocol", "user-agent", "mcp-session-id", "mcp-protocol-version", "last-event-id"];
/** Response headers passed back. */
const PASSED_RESPONSE_HEADERS = ["content-type", "content-encoding", "content-length", "cache-control", "expires", "pragma", "mcp-session-id"];

/** Hop-by-hop headers (RFC 9110 §7.6.1) and the proxy's own: never forwarded by an open proxy. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "proxy-authorization", "proxy-authenticate", "te", "trailer", "transfer-encoding", "upgrade", "host"]);

/** Every end-to-end header: what an egress proxy passes in both directions. */
export function endToEnd(from: http.IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, v] of Object.entries(from)) if (v !== undefined && !HOP_BY_HOP.has(name)) out[name] = v;
  return out;
}

export function pickHeaders(from: http.IncomingHttpHeaders, names: readonly string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name of names) {
    const v = from[name];
    if (v !== undefined) out[name] = v;
  }
  return out;
}

/**
 * Forwards `req` to `url` with only the passed headers plus `extra` (the credential's
 * authorization), through the outbound policy, and relays the answer to `res`. The
 * upstream's own 401/407 become `onRefused`'s answer, so a client never prompts for a
 * credential it must not have.
 */
export function relay(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  url: URL,
  opts: {
    policy: OutboundPolicy;
    /** The credential's authorization, for a credential proxy; none for plain egress. */
    extra: Record<string, string>;
    /** Credential proxies pass a few headers and turn 401/407 into `onRefused`; plain egress passes every end-to-end header and answer. */
    open?: boolean;
    onRefused: (status: number) => void;
    onFailed: (err: Error) => void;
    timeoutMs?: number;
  },
): void {
  try {
    checkLiteral(url.hostname, opts.policy, portOf(url));
  } catch (err) {
    opts.onFailed(err as Error);
    return;
  }
  const client = url.protocol === "https:" ? https : http;
  const upstream = client.request(url, {
    method: req.method,
    headers: { ...(opts.open ? endToEnd(req.headers) : pickHeaders(req.headers, PASSED_REQUEST_HEADERS)), ...opts.extra },
    agent: upstreamAgent(url),
    lookup: guardedLookup(opts.policy, portOf(url)) as never,
    timeout: opts.timeoutMs ?? 300_000,
  });
  upstream.on("timeout", () => upstream.destroy(new Error("the upstream did not answer in time")));
  upstream.on("error", (err) => {
    if (!res.headersSent) opts.onFailed(err);
    else res.destroy();
  });
  upstream.on("response", (answer) => {
    const status = answer.statusCode ?? 502;
    if (!opts.open && (status === 401 || status === 407)) {
      answer.resume();
      opts.onRefused(status);
      return;
    }
    res.writeHead(status, opts.open ? endToEnd(answer.headers) : pickHeaders(answer.headers, PASSED_RESPONSE_HEADERS));
    answer.pipe(res);
    answer.on("error", () => res.destroy());
  });
  req.on("error", () => upstream.destroy());
  res.on("close", () => {
    if (!res.writableFinished) upstream.destroy();
  });
  req.pipe(upstream);
}

/** A short plain-text answer from the gateway itself. */
export function answer(res: http.ServerResponse, status: number, text: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" });
  res.end(`oma gateway: ${text}\n`);
}
