import type * as http from "node:http";
import * as net from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "../logger.js";
import { allowListAdmits, type AllowEntry } from "./egress-allow-list.js";
import type { GatewayAudit } from "./gateway-audit.js";
import { checkLiteral, guardedLookup, OutboundRefused, type OutboundPolicy } from "./outbound-policy.js";
import { answer, relay } from "./upstream-request.js";

export interface EgressContext {
  readonly tenant: string;
  readonly sandboxId: string;
  /** Undefined: the sandbox has no network (NETWORK_MODE_NONE); every attempt is refused. */
  readonly allowList: readonly AllowEntry[] | undefined;
  readonly policy: OutboundPolicy;
  readonly audit: GatewayAudit;
  readonly log: Logger;
}

/** Host and port of a CONNECT target (`host:port`, `[v6]:port`); undefined when malformed. */
function parseAuthority(authority: string): { host: string; port: number } | undefined {
  const m = /^(\[[^\]]+\]|[^:[\]]+):(\d{1,5})$/.exec(authority);
  if (!m) return undefined;
  const port = Number(m[2]);
  return port >= 1 && port <= 65535 ? { host: m[1]!.replace(/^\[|\]$/g, ""), port } : undefined;
}

/** Why a destination is refused before any connection, or undefined when it may be tried. */
function refusal(ctx: EgressContext, host: string, port: number): { reason: "no_network" | "not_allowed" | "refused_address"; text: string } | undefined {
  if (!ctx.allowList) return { reason: "no_network", text: "this sandbox has no network" };
  if (!allowListAdmits(ctx.allowList, host, port)) return { reason: "not_allowed", text: `${host}:${port} is not on this sandbox's allow-list` };
  try {
    checkLiteral(host, ctx.policy, port);
  } catch (err) {
    return { reason: "refused_address", text: (err as Error).message };
  }
  return undefined;
}

/**
 * `CONNECT host:port` (HTTPS and any TCP protocol): admitted by the allow-list and the
 * outbound policy, then a tunnel. The server resolves the name itself and connects to an
 * address it checked; what passes through the tunnel is the sandbox's own business
 * (TLS end to end: the gateway adds nothing and reads nothing).
 */
export function tunnel(req: http.IncomingMessage, client: Duplex, head: Buffer, ctx: EgressContext): void {
  const target = parseAuthority(req.url ?? "");
  const refuse = (status: number, reason: "no_network" | "not_allowed" | "refused_address", text: string) => {
    ctx.audit.denied({ tenant: ctx.tenant, sandboxId: ctx.sandboxId, target: req.url ?? "", reason }, text);
    client.end(`HTTP/1.1 ${status} Forbidden\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\noma gateway: ${text}\n`);
  };
  client.on("error", () => client.destroy());
  if (!target) {
    client.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n");
    return;
  }
  const refused = refusal(ctx, target.host, target.port);
  if (refused) return refuse(403, refused.reason, refused.text);
  const upstream = net.connect({ host: target.host, port: target.port, lookup: guardedLookup(ctx.policy, target.port) as never });
  upstream.setNoDelay(true);
  upstream.once("connect", () => {
    ctx.log.debug({ tenant: ctx.tenant, sandboxId: ctx.sandboxId, target: req.url }, "egress tunnel");
    client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
    if (head.length > 0) upstream.write(head);
    upstream.pipe(client);
    client.pipe(upstream);
  });
  upstream.on("error", (err) => {
    if (err instanceof OutboundRefused) return refuse(403, "refused_address", err.message);
    if (!upstream.readyState || upstream.connecting) client.end(`HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\n\r\noma gateway: ${req.url} could not be reached: ${err.message}\n`);
    else client.destroy();
  });
  client.on("close", () => upstream.destroy());
  upstream.on("close", () => client.destroy());
}

/** A plain-HTTP request in absolute form (`GET http://host/path`), as HTTP_PROXY clients send them. */
export function forwardHttp(req: http.IncomingMessage, res: http.ServerResponse, url: URL, ctx: EgressContext): void {
  if (url.protocol !== "http:") return answer(res, 400, "https goes through CONNECT");
  const port = Number(url.port || 80);
  const refused = refusal(ctx, url.hostname, port);
  if (refused) {
    ctx.audit.denied({ tenant: ctx.tenant, sandboxId: ctx.sandboxId, target: `${url.hostname}:${port}`, reason: refused.reason }, refused.text);
    return answer(res, 403, refused.text);
  }
  relay(req, res, url, {
    policy: ctx.policy,
    extra: {},
    open: true,
    onRefused: () => undefined,
    onFailed: (err) => {
      if (err instanceof OutboundRefused) {
        ctx.audit.denied({ tenant: ctx.tenant, sandboxId: ctx.sandboxId, target: `${url.hostname}:${port}`, reason: "refused_address" }, err.message);
        return answer(res, 403, err.message);
      }
      answer(res, 502, `${url.host} could not be reached: ${err.message}`);
    },
  });
}
