/**
 * The opt-in guard against connecting to private, link-local and other non-public
 * addresses (`blockPrivateAddresses`), for sessions that follow URLs a peer chose: a PDS
 * named by a DID document, a redirect, a link. It checks the address a socket is about to
 * connect to, inside the DNS lookup the socket itself uses (a `lookup` function handed to
 * undici's connector, hence to `net.connect`), so there is no window between a check and
 * the connect in which a name could be re-resolved elsewhere (DNS rebinding). IP literals,
 * which `net.connect` does not look up, are checked by the connector before connecting.
 */
import dns from "node:dns";
import net, { type LookupFunction } from "node:net";
import { InvalidArgumentError, NetworkError } from "../errors.js";

export interface PrivateAddressGuardOptions {
  /** Allow 127.0.0.0/8 and ::1 (a local development server). @default false */
  allowLoopback?: boolean;
}

/** `true`, or options; `false`/absent: no guard. */
export type BlockPrivateAddressesOption = boolean | PrivateAddressGuardOptions;

// IANA special-purpose IPv4 ranges that a public client has no business reaching.
const V4: Array<[string, number, string]> = [
  ["0.0.0.0", 8, "unspecified"],
  ["10.0.0.0", 8, "private"],
  ["100.64.0.0", 10, "shared (CGNAT)"],
  ["127.0.0.0", 8, "loopback"],
  ["169.254.0.0", 16, "link-local"],
  ["172.16.0.0", 12, "private"],
  ["192.0.0.0", 24, "special-purpose"],
  ["192.0.2.0", 24, "documentation"],
  ["192.88.99.0", 24, "6to4 relay"],
  ["192.168.0.0", 16, "private"],
  ["198.18.0.0", 15, "benchmarking"],
  ["198.51.100.0", 24, "documentation"],
  ["203.0.113.0", 24, "documentation"],
  ["224.0.0.0", 4, "multicast"],
  ["240.0.0.0", 4, "reserved"],
];

// IPv6 ranges (prefix as 16 bytes, length). Ranges that embed an IPv4 address
// (::ffff:0:0/96, ::/96, 64:ff9b::/96, 2002::/16) are judged by that address instead.
const V6: Array<[string, number, string]> = [
  ["::", 128, "unspecified"],
  ["::1", 128, "loopback"],
  ["64:ff9b:1::", 48, "local NAT64"],
  ["100::", 64, "discard"],
  ["2001::", 23, "special-purpose"],
  ["2001:db8::", 32, "documentation"],
  ["fc00::", 7, "unique local"],
  ["fe80::", 10, "link-local"],
  ["fec0::", 10, "site-local"],
  ["ff00::", 8, "multicast"],
];

/** 16 bytes of an IPv6 address (zone id dropped), or null when it is not one. */
function v6Bytes(address: string): Uint8Array | null {
  const a = address.replace(/%.*$/, "");
  if (net.isIPv6(a) === false) return null;
  let head = a;
  const lastColon = a.lastIndexOf(":");
  if (a.includes(".", lastColon)) {
    // A dotted IPv4 tail (::ffff:1.2.3.4) becomes the last two groups.
    const [w, x, y, z] = a
      .slice(lastColon + 1)
      .split(".")
      .map(Number);
    head = `${a.slice(0, lastColon + 1)}${((w << 8) | x).toString(16)}:${((y << 8) | z).toString(16)}`;
  }
  const [left, right] = head.includes("::") ? head.split("::") : [head, null];
  const parse = (s: string) => (s === "" ? [] : s.split(":").map((h) => parseInt(h, 16)));
  const l = parse(left);
  const r = right === null ? [] : parse(right);
  const groups = right === null ? l : [...l, ...Array<number>(8 - l.length - r.length).fill(0), ...r];
  if (groups.length !== 8) return null;
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

function v4Bytes(address: string): Uint8Array | null {
  if (!net.isIPv4(address)) return null;
  return Uint8Array.from(address.split(".").map(Number));
}

function inPrefix(bytes: Uint8Array, prefix: Uint8Array, bits: number): boolean {
  for (let i = 0; i < bits; i++) {
    const mask = 0x80 >> (i % 8);
    if ((bytes[i >> 3] & mask) !== (prefix[i >> 3] & mask)) return false;
  }
  return true;
}

const V4_RANGES = V4.map(([p, bits, kind]) => ({ prefix: v4Bytes(p)!, bits, kind }));
const V6_RANGES = V6.map(([p, bits, kind]) => ({ prefix: v6Bytes(p)!, bits, kind }));

function classifyV4(b: Uint8Array): string | null {
  for (const r of V4_RANGES) if (inPrefix(b, r.prefix, r.bits)) return r.kind;
  return null;
}

/**
 * What kind of non-public address `address` is ("loopback", "private", "link-local", …),
 * or null for a public (or unparsable) one. IPv4 inside IPv6 is judged as IPv4.
 */
export function classifyAddress(address: string): string | null {
  const v4 = v4Bytes(address);
  if (v4 !== null) return classifyV4(v4);
  const b = v6Bytes(address);
  if (b === null) return null;
  const zero = (from: number, to: number) => b.subarray(from, to).every((x) => x === 0);
  // ::ffff:a.b.c.d (mapped), ::a.b.c.d (compatible, deprecated), 64:ff9b::a.b.c.d (NAT64).
  const mapped = zero(0, 10) && b[10] === 0xff && b[11] === 0xff;
  const compat = zero(0, 12) && !zero(12, 14); // not :: or ::1
  const nat64 = b[0] === 0 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zero(4, 12);
  if (mapped || compat || nat64) return classifyV4(b.subarray(12, 16));
  if (b[0] === 0x20 && b[1] === 0x02) return classifyV4(b.subarray(2, 6)); // 6to4
  for (const r of V6_RANGES) if (inPrefix(b, r.prefix, r.bits)) return r.kind;
  return null;
}

/** The connection was refused because its address is not public (`ADDRESS_BLOCKED`). */
export function addressBlockedError(host: string, address: string, kind: string): NetworkError {
  const shown = host === address ? address : `${host} (${address})`;
  return new NetworkError("ADDRESS_BLOCKED", `Refusing to connect to ${shown}: a ${kind} address (blockPrivateAddresses)`);
}

export class AddressGuard {
  readonly allowLoopback: boolean;

  constructor(options: PrivateAddressGuardOptions = {}) {
    this.allowLoopback = options.allowLoopback === true;
  }

  /** Why `address` is refused, or null when it may be connected to. */
  refuse(address: string): string | null {
    const kind = classifyAddress(address);
    if (kind === null || (kind === "loopback" && this.allowLoopback)) return null;
    return kind;
  }

  /**
   * A `dns.lookup` that fails with ADDRESS_BLOCKED when any address the name resolves to is
   * refused (not only the first: with `autoSelectFamily` the socket may try each of them).
   */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, "", 0);
      for (const a of addresses) {
        const kind = this.refuse(a.address);
        if (kind !== null) return callback(addressBlockedError(hostname, a.address, kind) as unknown as NodeJS.ErrnoException, "", 0);
      }
      if (options.all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, addresses);
      if (addresses.length === 0) return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" }), "", 0);
      callback(null, addresses[0].address, addresses[0].family);
    });
  };
}

/** Validates the `blockPrivateAddresses` option; null when the guard is off. */
export function addressGuardFrom(option: unknown): AddressGuard | null {
  if (option === undefined || option === null || option === false) return null;
  if (option === true) return new AddressGuard();
  if (typeof option === "object" && !Array.isArray(option)) {
    const { allowLoopback } = option as PrivateAddressGuardOptions;
    if (allowLoopback !== undefined && typeof allowLoopback !== "boolean") {
      throw new InvalidArgumentError("blockPrivateAddresses.allowLoopback must be a boolean");
    }
    return new AddressGuard({ allowLoopback });
  }
  throw new InvalidArgumentError("blockPrivateAddresses must be a boolean or { allowLoopback?: boolean }");
}
