import { describe, expect, it } from "vitest";
import { pino } from "pino";
import { allowListAdmits, parseAllowList } from "./egress-allow-list.js";
import { GatewayAudit } from "./gateway-audit.js";
import * as http from "node:http";
import { isIPv4, type AddressInfo } from "node:net";
import { guardedFetch } from "./guarded-fetch.js";
import { checkLiteral, interfaceAddresses, OutboundRefused, refusalOf, strictOutbound } from "./outbound-policy.js";

describe("SEC-15 allow-list entries", () => {
  const list = parseAllowList(["Example.org", "*.pypi.org", "10.0.0.0/8", "192.0.2.7:8443", "[2001:db8::1]:443", "2001:db8:ff::/48", "api.example.net:443"], "allow");

  it("a host name admits that name alone; *.domain its subdomains, not the domain", () => {
    expect(allowListAdmits(list, "example.org", 80)).toBe(true);
    expect(allowListAdmits(list, "EXAMPLE.ORG.", 443)).toBe(true);
    expect(allowListAdmits(list, "www.example.org", 443)).toBe(false);
    expect(allowListAdmits(list, "files.pypi.org", 443)).toBe(true);
    expect(allowListAdmits(list, "pypi.org", 443)).toBe(false);
    expect(allowListAdmits(list, "evilpypi.org", 443)).toBe(false);
  });

  it("addresses and ranges admit address literals in them; ports bind where given", () => {
    expect(allowListAdmits(list, "10.1.2.3", 22)).toBe(true);
    expect(allowListAdmits(list, "11.0.0.1", 22)).toBe(false);
    expect(allowListAdmits(list, "192.0.2.7", 8443)).toBe(true);
    expect(allowListAdmits(list, "192.0.2.7", 443)).toBe(false);
    expect(allowListAdmits(list, "[2001:db8::1]", 443)).toBe(true);
    expect(allowListAdmits(list, "2001:db8::1", 80)).toBe(false);
    expect(allowListAdmits(list, "2001:db8:ff::9", 80)).toBe(true);
    expect(allowListAdmits(list, "api.example.net", 443)).toBe(true);
    expect(allowListAdmits(list, "api.example.net", 80)).toBe(false);
    // A name is not an address: a range never admits a host name, whatever it resolves to.
    expect(allowListAdmits(parseAllowList(["0.0.0.0/0"], "allow"), "example.org", 80)).toBe(false);
  });

  it("malformed entries are INVALID_FIELD naming the entry; an empty or oversized list is refused", () => {
    for (const [entries, field] of [
      [["ok.example", "not a host"], "allow[1]"],
      [["http://example.org/"], "allow[0]"],
      [["10.0.0.0/33"], "allow[0]"],
      [["example.org:0"], "allow[0]"],
      [["*.*.example"], "allow[0]"],
      [[], "allow"],
      [Array.from({ length: 65 }, (_, i) => `h${i}.example`), "allow"],
    ] as const) {
      expect(() => parseAllowList(entries, "allow"), JSON.stringify(entries).slice(0, 40)).toThrow(expect.objectContaining({ reason: "INVALID_FIELD", field }));
    }
  });
});

describe("the outbound policy", () => {
  it("link-local and unspecified addresses are always refused; loopback unless allowed", () => {
    for (const a of ["169.254.169.254", "fe80::1", "0.0.0.0", "::", "::ffff:169.254.169.254"]) expect(refusalOf(a, { allowLoopback: true }), a).toBeDefined();
    for (const a of ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"]) {
      expect(refusalOf(a, { allowLoopback: false }), a).toBeDefined();
      expect(refusalOf(a, { allowLoopback: true }), a).toBeUndefined();
    }
    for (const a of ["10.0.0.1", "93.184.216.34", "2001:db8::1"]) expect(refusalOf(a, { allowLoopback: false, machineAddresses: () => [] }), a).toBeUndefined();
    expect(() => checkLiteral("[::1]", { allowLoopback: false })).toThrow(/loopback/);
    // The server's own port stays refused on loopback even when loopback is allowed (SEC-1).
    const own = { allowLoopback: true, ownListeners: () => [{ address: "127.0.0.1", port: 7070 }] };
    expect(refusalOf("127.0.0.1", own, 7070)).toMatch(/own port/);
    expect(refusalOf("::ffff:127.0.0.1", own, 7070)).toMatch(/own port/);
    // Any spelling of the listener's address is the listener.
    const own6 = { allowLoopback: true, ownListeners: () => [{ address: "::1", port: 7070 }] };
    for (const spelling of ["::1", "0:0:0:0:0:0:0:1", "0::1"]) expect(refusalOf(spelling, own6, 7070), spelling).toMatch(/own port/);
    expect(refusalOf("127.0.0.1", own, 7071)).toBeUndefined();
    expect(refusalOf("10.0.0.1", own, 7070)).toBeUndefined();
    // Another loopback address with the same port number is another socket: an upstream may
    // listen there (a fixture on 127.0.0.2 may draw the server's port number).
    expect(refusalOf("127.0.0.2", own, 7070)).toBeUndefined();
    // A server on a wildcard address, or one not yet listening on a numeric one, answers on
    // every loopback address.
    for (const address of ["0.0.0.0", "::", "localhost"]) {
      const wide = { allowLoopback: true, ownListeners: () => [{ address, port: 7070 }] };
      for (const target of ["127.0.0.2", "::1"]) expect(refusalOf(target, wide, 7070), `${address} ${target}`).toMatch(/own port/);
    }
    expect(() => checkLiteral("example.org", { allowLoopback: false })).not.toThrow();
  });

  it("this machine's interface addresses are its own: refused unless allowed, and the server's socket on them always", () => {
    const lan = { machineAddresses: () => ["127.0.0.1", "::1", "192.0.2.2", "fd00::2"] };
    for (const a of ["192.0.2.2", "::ffff:192.0.2.2", "fd00::2", "fd00:0::2"]) {
      expect(refusalOf(a, { allowLoopback: false, ...lan }), a).toMatch(/an address of this machine/);
      expect(refusalOf(a, { allowLoopback: true, ...lan }), a).toBeUndefined();
    }
    expect(refusalOf("192.0.2.3", { allowLoopback: false, ...lan })).toBeUndefined();
    expect(() => checkLiteral("192.0.2.2", { allowLoopback: false, ...lan }, 22)).toThrow(/192\.0\.2\.2: an address of this machine/);
    // A server on every address answers on the machine's network address too; one on
    // loopback alone does not, and one on that address does.
    const listening = (address: string) => ({ allowLoopback: true, ...lan, ownListeners: () => [{ address, port: 7070 }] });
    expect(refusalOf("192.0.2.2", listening("0.0.0.0"), 7070)).toMatch(/own port/);
    expect(refusalOf("fd00::2", listening("::"), 7070)).toMatch(/own port/);
    expect(refusalOf("192.0.2.2", listening("192.0.2.2"), 7070)).toMatch(/own port/);
    expect(refusalOf("192.0.2.2", listening("127.0.0.1"), 7070)).toBeUndefined();
    expect(refusalOf("192.0.2.2", listening("0.0.0.0"), 7071)).toBeUndefined();
  });

  it("by default the machine's addresses are the kernel's list, and the strict policy refuses each", () => {
    const addresses = interfaceAddresses();
    expect(addresses, "the kernel's list has loopback at least").toContain("127.0.0.1");
    for (const a of addresses) expect(refusalOf(a, strictOutbound), a).toBeDefined();
  });

  // A real connection: a service on every address of this machine, asked for by its network
  // address. Needs an interface besides loopback; a machine without one says so.
  const networkAddress = interfaceAddresses().find((a) => isIPv4(a) && !a.startsWith("127.") && !a.startsWith("169.254."));
  if (!networkAddress) console.warn("!!! SKIPPED: this machine has no IPv4 address besides loopback; the outbound policy's refusal of this machine's network address is not tried over a real connection");
  it.skipIf(!networkAddress)("a service on every address of this machine is not reached by its network address, unless this machine's addresses are allowed", async () => {
    const service = http.createServer((_req, res) => res.end("inside"));
    await new Promise<void>((resolve) => service.listen(0, "0.0.0.0", resolve));
    const url = `http://${networkAddress}:${(service.address() as AddressInfo).port}/`;
    try {
      const refused = await guardedFetch(strictOutbound)(url).catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(OutboundRefused);
      expect((refused as Error).message).toMatch(/an address of this machine/);
      // The address does reach the service: the refusal above is the policy's, not the network's.
      const allowed = await guardedFetch({ allowLoopback: true })(url);
      expect(await allowed.text()).toBe("inside");
    } finally {
      service.closeAllConnections();
      await new Promise((resolve) => service.close(resolve));
    }
  });
});

describe("SEC-15 every refusal is visible", () => {
  it("a refused request is one warning in the log, with the sandbox and target, and one count by reason", () => {
    const lines: string[] = [];
    const logger = pino({ level: "warn" }, { write: (s: string) => void lines.push(s) });
    const audit = new GatewayAudit(logger);
    audit.denied({ tenant: "acme", sandboxId: "sbx_1", target: "evil.example:443", reason: "not_allowed" }, "not on the list");
    audit.denied({ tenant: "acme", sandboxId: "sbx_1", target: "evil.example:80", reason: "not_allowed" }, "not on the list");
    expect(audit.deniedCounts().get("not_allowed")).toBe(2);
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 40, tenant: "acme", sandboxId: "sbx_1", target: "evil.example:443", reason: "not_allowed" });
  });
});
