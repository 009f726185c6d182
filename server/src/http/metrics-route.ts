import type { Authenticator } from "../auth/authenticate.js";
import { isOmaError } from "../errors/oma-error.js";
import type { Logger } from "../logger.js";
import type { OmaMetrics } from "../telemetry/metrics.js";
import { pathOf, sendText, type HttpRequest, type HttpRoute } from "./http-routes.js";

/**
 * GET /metrics: the Prometheus exposition, for admin tokens only (`authorization: Bearer
 * <admin token>`; Prometheus sends it with `authorization.credentials_file`). The metrics
 * count every tenant's work, so no tenant's token may read them; with `--auth none` the
 * server is on loopback and anyone there may.
 */
export function metricsRoute(deps: { metrics: OmaMetrics; auth: Authenticator; logger: Logger }): HttpRoute {
  return (req, res) => {
    if (pathOf(req) !== "/metrics") return false;
    if (req.method !== "GET" && req.method !== "HEAD") {
      sendText(res, 405, "GET /metrics", { allow: "GET, HEAD" });
      return true;
    }
    void (async () => {
      try {
        const principal = await deps.auth.authenticate(headerLookup(req));
        if (principal.role !== "admin") {
          sendText(res, 403, `/metrics needs an admin token; this is a ${principal.role} token`);
          return;
        }
        const { contentType, body } = await deps.metrics.exposition();
        res.writeHead(200, { "content-type": contentType, "cache-control": "no-store" });
        res.end(req.method === "HEAD" ? undefined : body);
      } catch (err) {
        if (isOmaError(err) && (err.reason === "UNAUTHENTICATED" || err.reason === "PERMISSION_DENIED" || err.reason === "INVALID_FIELD")) {
          const status = err.reason === "UNAUTHENTICATED" ? 401 : err.reason === "PERMISSION_DENIED" ? 403 : 400;
          sendText(res, status, `/metrics needs an admin token (authorization: Bearer <token>): ${err.message}`, status === 401 ? { "www-authenticate": 'Bearer realm="oma"' } : {});
          return;
        }
        deps.logger.error({ err }, "serving /metrics failed");
        if (!res.headersSent) sendText(res, 500, "internal error");
        else res.end();
      }
    })();
    return true;
  };
}

/** The request's headers as the authenticator reads them. */
export function headerLookup(req: HttpRequest): { get(name: string): string | null } {
  return {
    get(name) {
      const value = req.headers[name.toLowerCase()];
      return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
    },
  };
}
