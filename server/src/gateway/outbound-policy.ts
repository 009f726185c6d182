import { lookup, type LookupAddress, type LookupAllOptions } from "node:dns";
import { BlockList, isIP } from "node:net";
import { networkInterfaces } from "node:os";

/**
 * Where the server's proxies may connect on behalf of a tenant (a repository, an MCP
 * server, an allow-listed host). Link-local addresses (cloud metadata endpoints live there)
 * and unspecified ones are always refused; loopback is refused unless the operator allows
 * it (`--allow-loopback-upstreams`), since a tenant could otherwise reach services bound to
 * the server's own machine.
 */
export interface OutboundPolicy {
  readonly allowLoopback: boolean;
  /**
   * Where this server listens on this machine: refused on loopback even when loopback is
   * allowed, so no tenant's recipe turns a proxy into a way to the server itself (SEC-1).
   * Read at every connection (the server learns its port when it listens).
   */
  readonly ownListeners?: () => readonly Listener[];
  /**
   * The addresses of this machine's network interfaces, read at every check (an interface
   * may come up or change its address while the server runs). Default: the kernel's list
   * (os.networkInterfaces).
   */
  readonly machineAddresses?: () => readonly string[];
}

/** Every address of this machine's network interfaces, loopback's included. */
export function interfaceAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address));
}

/** An address and port a server listens on; a wildcard address (0.0.0.0, ::) answers on every address. */
export interface Listener {
  readonly address: string;
  readonly port: number;
}

export const strictOutbound: OutboundPolicy = { allowLoopback: false };

const linkLocalOrUnspecified = new BlockList();
linkLocalOrUnspecified.addSubnet("169.254.0.0", 16, "ipv4");
linkLocalOrUnspecified.addSubnet("0.0.0.0", 8, "ipv4");
linkLocalOrUnspecified.addSubnet("fe80::", 10, "ipv6");
linkLocalOrUnspecified.addAddress("::", "ipv6");
linkLocalOrUnspecified.addSubnet("::ffff:169.254.0.0", 112, "ipv6");
linkLocalOrUnspecified.addSubnet("::ffff:0.0.0.0", 104, "ipv6");
const wildcard = new BlockList();
wildcard.addAddress("0.0.0.0", "ipv4");
wildcard.addAddress("::", "ipv6");
const loopback = new BlockList();
loopback.addSubnet("127.0.0.0", 8, "ipv4");
loopback.addAddress("::1", "ipv6");
loopback.addSubnet("::ffff:127.0.0.0", 104, "ipv6");

/** Why an address (and port, when known) may not be reached under `policy`, or undefined when it may. */
export function refusalOf(address: string, policy: OutboundPolicy, port?: number): string | undefined {
  const family = isIP(address);
  if (family === 0) return "not an address";
  const type = blockListType(family);
  if (linkLocalOrUnspecified.check(address, type)) return "link-local or unspecified address";
  const onLoopback = loopback.check(address, type);
  if (onLoopback || isMachineAddress(address, type, policy)) {
    if (!policy.allowLoopback) return `${onLoopback ? "loopback address" : "an address of this machine"} (the server allows none: --allow-loopback-upstreams)`;
    if (port !== undefined && policy.ownListeners?.().some((l) => answers(l, address, port))) return "this server's own port";
  }
  return undefined;
}

/** Whether `address` is one of this machine's interface addresses (in any spelling, mapped IPv4 included). */
function isMachineAddress(address: string, type: ReturnType<typeof blockListType>, policy: OutboundPolicy): boolean {
  const mine = new BlockList();
  for (const a of (policy.machineAddresses ?? interfaceAddresses)()) {
    const family = isIP(a);
    if (family !== 0) mine.addAddress(a, blockListType(family));
  }
  return mine.check(address, type);
}

/**
 * Whether a connection to address:port (one of this machine's) reaches `listener`. Another
 * address of the machine with the same port number is another socket (127.0.0.2:P is not a
 * listener bound to 127.0.0.1:P); a listener whose address is a wildcard or not yet a number
 * is taken to answer everywhere. Addresses are compared by BlockList, which reads every
 * spelling of one address as one (`0:0::1` is `::1`, `::ffff:127.0.0.1` is `127.0.0.1`).
 */
function answers(listener: Listener, address: string, port: number): boolean {
  if (listener.port !== port) return false;
  const family = isIP(listener.address);
  if (family === 0) return true;
  const type = blockListType(family);
  if (wildcard.check(listener.address, type)) return true;
  const bound = new BlockList();
  bound.addAddress(listener.address, type);
  return bound.check(address, blockListType(isIP(address)));
}

/** The BlockList name of an address family as `isIP` numbers it (4 or 6). */
const blockListType = (family: number): "ipv4" | "ipv6" => (family === 4 ? "ipv4" : "ipv6");

/** The port a URL connects to. */
export const portOf = (url: URL) => Number(url.port || (url.protocol === "https:" ? 443 : 80));

/** A refused destination; the message names the address and why, never a credential. */
export class OutboundRefused extends Error {
  override readonly name = "OutboundRefused";
  readonly code = "EOMAREFUSED";
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for net.connect / http.request that resolves the name and keeps only the
 * addresses the policy allows, so the connection goes to an address that was checked
 * (no second resolution an attacker's DNS could answer differently).
 */
export function guardedLookup(policy: OutboundPolicy, port?: number) {
  return (hostname: string, options: { all?: boolean; family?: number | string }, callback: LookupCallback): void => {
    const opts: LookupAllOptions = { all: true, ...(options.family ? { family: Number(options.family) === 6 ? 6 : Number(options.family) === 4 ? 4 : 0 } : {}) };
    lookup(hostname, opts, (err, addresses) => {
      if (err) return callback(err, "");
      const allowed = addresses.filter((a) => refusalOf(a.address, policy, port) === undefined);
      if (allowed.length === 0) {
        const why = addresses[0] ? refusalOf(addresses[0].address, policy, port) : "no address";
        return callback(new OutboundRefused(`${hostname} resolves to no address the server may reach (${why})`), "");
      }
      if (options.all) callback(null, allowed);
      else callback(null, allowed[0]!.address, allowed[0]!.family);
    });
  };
}

/** Throws OutboundRefused when `host` is an address literal the policy refuses (names are checked at lookup). */
export function checkLiteral(host: string, policy: OutboundPolicy, port?: number): void {
  const bare = host.replace(/^\[|\]$/g, "");
  if (isIP(bare) === 0) return;
  const why = refusalOf(bare, policy, port);
  if (why) throw new OutboundRefused(`${bare}: ${why}`);
}
