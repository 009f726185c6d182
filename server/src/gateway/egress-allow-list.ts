import { BlockList, isIP } from "node:net";
import { invalidField } from "../errors/oma-error.js";

/** One allowed destination: a host, every subdomain of a domain, or an address range; any port unless one is given. */
export type AllowEntry =
  | { readonly kind: "host"; readonly host: string; readonly port?: number }
  | { readonly kind: "subdomains"; readonly domain: string; readonly port?: number }
  | { readonly kind: "addresses"; readonly range: BlockList; readonly type: "ipv4" | "ipv6"; readonly port?: number };

/** Bounds of an allow-list (sandbox.proto states the same). */
export const allowListBounds = { maxEntries: 64, maxEntryBytes: 256 } as const;

const LABEL = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";
const HOST_NAME = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);

/**
 * Parses `NetworkPolicy.allow` (INVALID_FIELD naming the entry otherwise). An entry is a
 * host name (`example.org`), `*.` and a domain (its subdomains, not the domain itself), an
 * IP address or a CIDR range (`10.0.0.0/8`, `2001:db8::/32`), each with an optional
 * `:port` (`[v6]:port` for IPv6).
 */
export function parseAllowList(entries: readonly string[], field: string): AllowEntry[] {
  if (entries.length === 0) throw invalidField(field, "required", "an allow-list needs at least one entry");
  if (entries.length > allowListBounds.maxEntries) throw invalidField(field, "max_items", `at most ${allowListBounds.maxEntries} entries`, { limit: allowListBounds.maxEntries });
  return entries.map((raw, i) => {
    const entry = parseEntry(raw.trim().toLowerCase());
    if (!entry || Buffer.byteLength(raw) > allowListBounds.maxEntryBytes) {
      throw invalidField(`${field}[${i}]`, "allow_entry_grammar", "must be a host name, *.domain, an IP address or a CIDR range, with an optional :port");
    }
    return entry;
  });
}

function parseEntry(s: string): AllowEntry | undefined {
  let rest = s;
  let port: number | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(rest);
  if (bracketed) {
    rest = bracketed[1]!;
    if (bracketed[2] !== undefined) port = Number(bracketed[2]);
  } else if (isIP(rest.split("/")[0]!) !== 6) {
    const m = /^(.*):(\d{1,5})$/.exec(rest);
    if (m) {
      rest = m[1]!;
      port = Number(m[2]);
    }
  }
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  const withPort = port === undefined ? {} : { port };
  const [address, bits, extra] = rest.split("/");
  const family = isIP(address ?? "");
  if (family !== 0 && extra === undefined) {
    const type = family === 4 ? "ipv4" : "ipv6";
    const prefix = bits === undefined ? (family === 4 ? 32 : 128) : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
    if (!(prefix >= 0 && prefix <= (family === 4 ? 32 : 128))) return undefined;
    const range = new BlockList();
    range.addSubnet(address!, prefix, type);
    return { kind: "addresses", range, type, ...withPort };
  }
  if (rest.startsWith("*.") && HOST_NAME.test(rest.slice(2))) return { kind: "subdomains", domain: rest.slice(2), ...withPort };
  if (HOST_NAME.test(rest) && !rest.includes("/")) return { kind: "host", host: rest, ...withPort };
  return undefined;
}

/** Whether `host:port` (a name or an address literal, as a client asked for it) is on the list. */
export function allowListAdmits(list: readonly AllowEntry[], host: string, port: number): boolean {
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase().replace(/\.$/, "");
  const family = isIP(bare);
  return list.some((e) => {
    if (e.port !== undefined && e.port !== port) return false;
    if (e.kind === "addresses") return family !== 0 && e.range.check(bare, family === 4 ? "ipv4" : "ipv6");
    if (family !== 0) return false;
    return e.kind === "host" ? bare === e.host : bare.endsWith(`.${e.domain}`);
  });
}
