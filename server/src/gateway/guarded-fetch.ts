import * as http from "node:http";
import * as https from "node:https";
import { Readable } from "node:stream";
import { checkLiteral, guardedLookup, portOf, type OutboundPolicy } from "./outbound-policy.js";
import { upstreamAgent } from "./upstream-request.js";

/**
 * A `fetch` for clients that take one (the MCP SDK's transport), whose connections obey
 * the outbound policy: address literals are checked, names are resolved by the guarded
 * lookup and the connection goes to an address that passed. Bodies stream both ways.
 */
export function guardedFetch(policy: OutboundPolicy): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(typeof input === "string" ? input : input instanceof URL ? input.href : input.url);
    checkLiteral(url.hostname, policy, portOf(url));
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((value, name) => (headers[name] = value));
    const body = init?.body === undefined || init.body === null ? undefined : typeof init.body === "string" ? init.body : Buffer.from(await new Response(init.body).arrayBuffer());
    return new Promise<Response>((resolve, reject) => {
      const client = url.protocol === "https:" ? https : http;
      const req = client.request(url, { method: init?.method ?? "GET", headers, agent: upstreamAgent(url), lookup: guardedLookup(policy, portOf(url)) as never, ...(init?.signal ? { signal: init.signal } : {}) });
      req.on("error", reject);
      req.on("response", (res) => {
        const out = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) out.append(name, v);
        }
        const status = res.statusCode ?? 502;
        const empty = status === 204 || status === 304 || req.method === "HEAD";
        if (empty) res.resume();
        resolve(new Response(empty ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), { status, statusText: res.statusMessage ?? "", headers: out }));
      });
      req.end(body);
    });
  }) as typeof fetch;
}
