import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "../logger.js";

/** A plain HTTP request on the RPC port: what HTTP/1.1 and HTTP/2 (compatibility API) requests share. */
export interface HttpRequest {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  readonly headers: IncomingHttpHeaders;
}

/** Its response, likewise. */
export interface HttpResponse {
  readonly headersSent: boolean;
  writeHead(status: number, headers: Record<string, string>): unknown;
  end(body?: Uint8Array | string): unknown;
}

/**
 * One plain HTTP route: answers the request and returns true, or returns false and leaves
 * it to the next route (and finally to the RPC handler).
 */
export type HttpRoute = (req: HttpRequest, res: HttpResponse) => boolean;

/** The first route that takes a request answers it; RPC paths are never taken. */
export function httpRoutes(...routes: readonly HttpRoute[]): HttpRoute {
  return (req, res) => routes.some((route) => route(req, res));
}

/**
 * A route for every path under `prefix`, answered by a Node request handler (a handler that
 * reads the body, e.g. the MCP proxy). The server hands it Node's own request and response.
 */
export function prefixRoute(prefix: string, handle: NodeHandler): HttpRoute {
  return (req, res) => {
    if (!pathOf(req).startsWith(prefix)) return false;
    void handle(req as IncomingMessage, res as unknown as ServerResponse);
    return true;
  };
}

/** A handler of Node's own request and response (what prefixRoute serves). */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => unknown;

/**
 * A handler made on its first request: the modules behind a route that most servers
 * never serve are then not loaded at start. A failed load is logged, answers 500, and is
 * tried again by the next request.
 */
export function madeOnFirstRequest(make: () => Promise<NodeHandler>, log: Logger): NodeHandler {
  let made: Promise<NodeHandler> | undefined;
  return async (req, res) => {
    let handle: NodeHandler;
    try {
      handle = await (made ??= make());
    } catch (err) {
      made = undefined;
      log.error({ err, path: pathOf(req) }, "a route's handler could not be loaded");
      if (!res.headersSent) sendText(res, 500, "internal error: this route could not be loaded");
      return;
    }
    return handle(req, res);
  };
}

/** The request's path without its query. */
export function pathOf(req: HttpRequest): string {
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  return q < 0 ? url : url.slice(0, q);
}

/** Answers with a short text body (errors, redirects), never cached. */
export function sendText(res: HttpResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  const body = Buffer.from(`${text}\n`, "utf8");
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "content-length": String(body.length), "cache-control": "no-store", ...headers });
  res.end(body);
}
