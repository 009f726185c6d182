import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { pathOf, sendText, type HttpResponse, type HttpRoute } from "./http-routes.js";

/** Where the build step puts the inspector's bundle (server/dist/inspector), from src/ or dist/ alike. */
export const INSPECTOR_DIR = fileURLToPath(new URL("../../dist/inspector/", import.meta.url));

/** The page's paths; each answers the one HTML page, which routes itself. */
const PAGE = /^\/(?:index\.html|fleet|sessions\/[^/]+)?$/;

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".woff2": "font/woff2",
};

/**
 * The page may load only its own scripts and styles and talk only to its own origin (the
 * public API on the same port): nothing is fetched from elsewhere, nothing may frame it.
 */
const PAGE_HEADERS = {
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

interface Asset {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
}

function load(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else {
        const body = readFileSync(path);
        const url = `/${relative(dir, path).split(sep).join("/")}`;
        assets.set(url, { body, type: TYPES[extname(name)] ?? "application/octet-stream", etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 16)}"` });
      }
    }
  };
  if (existsSync(join(dir, "index.html"))) walk(dir);
  return assets;
}

function send(req: { method?: string | undefined; headers: Record<string, unknown> }, res: HttpResponse, asset: Asset, headers: Record<string, string>): void {
  if (req.headers["if-none-match"] === asset.etag) {
    res.writeHead(304, { etag: asset.etag, ...headers });
    res.end();
    return;
  }
  res.writeHead(200, { "content-type": asset.type, "content-length": String(asset.body.length), etag: asset.etag, ...headers });
  res.end(req.method === "HEAD" ? undefined : asset.body);
}

/**
 * GET / (and /sessions/ID, /fleet): the inspector page, served from the bundle the build
 * made (read once, kept in memory); GET /assets/*: its scripts and styles, content-hashed
 * by Vite and so cached for good. The page needs no token to load: it is a client of the
 * public API, and every call it makes carries the token it was given.
 */
export function inspectorRoute(dir: string = INSPECTOR_DIR): HttpRoute {
  const assets = load(dir);
  return (req, res) => {
    const path = pathOf(req);
    const page = PAGE.test(path);
    if (!page && !path.startsWith("/assets/")) return false;
    if (req.method !== "GET" && req.method !== "HEAD") {
      sendText(res, 405, "the inspector answers GET", { allow: "GET, HEAD" });
      return true;
    }
    const index = assets.get("/index.html");
    if (!index) {
      sendText(res, 503, "the inspector is not built: run `npm run build` (npm start and npm test build it)");
      return true;
    }
    if (page) {
      send(req, res, index, { ...PAGE_HEADERS, "cache-control": "no-cache" });
      return true;
    }
    const asset = assets.get(path);
    if (!asset) {
      sendText(res, 404, `no such file: ${path}`);
      return true;
    }
    send(req, res, asset, { "x-content-type-options": "nosniff", "cache-control": "public, max-age=31536000, immutable" });
    return true;
  };
}
