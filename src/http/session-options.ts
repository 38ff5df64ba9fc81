/**
 * Session options, their libsoup defaults and validation. Every option is also a property
 * on the Session; setters reuse the same validators so a bad value fails the same way.
 */
import { InvalidArgumentError } from "../errors.js";
import type { SessionFeature } from "./feature.js";
import type { ProxyResolver } from "./proxy.js";
import type { RetryOptions } from "./retry.js";
import type { BlockPrivateAddressesOption } from "./address-guard.js";

export { addressGuardFrom } from "./address-guard.js";
export type { BlockPrivateAddressesOption, PrivateAddressGuardOptions } from "./address-guard.js";

export interface TlsInteraction {
  /** Client certificate (PEM) for mutual TLS. */
  cert: string | Buffer;
  /** Its private key (PEM). */
  key: string | Buffer;
  passphrase?: string;
}

export type TlsDatabase = string | Buffer | Array<string | Buffer> | null;

export interface SessionOptions {
  /** Open connections across the whole session. @default 10 */
  maxConns?: number;
  /** Open connections per origin. @default 2 */
  maxConnsPerHost?: number;
  /** Idle keep-alive connections close after this many ms (0 = never). @default 60_000 */
  idleTimeout?: number;
  /** Socket I/O timeout in ms: a stalled request fails with TIMEOUT (0 = none). @default 60_000 */
  timeout?: number;
  /** Connect timeout (TCP, TLS, proxy CONNECT) in ms; null: `timeout`. @default null */
  connectTimeout?: number | null;
  /** Longest wait for the response headers once the request is sent, in ms; null: `timeout`. @default null */
  headersTimeout?: number | null;
  /** Longest silence between body chunks, in ms; null: `timeout`. @default null */
  bodyTimeout?: number | null;
  /**
   * Largest response body accepted, in bytes, counted on the wire and after decoding (a gzip
   * bomb ends early with RESPONSE_TOO_LARGE); 0: no limit. A message's own `maxResponseSize` wins.
   * @default 0
   */
  maxResponseSize?: number;
  /** null: no User-Agent; "": `sessionkit/VERSION`; ends in a space: the default is appended. @default "" */
  userAgent?: string | null;
  /** Accept-Language to send; setting it turns acceptLanguageAuto off. @default null */
  acceptLanguage?: string | null;
  /** Derive Accept-Language from the process locale. @default false */
  acceptLanguageAuto?: boolean;
  /** Local address to bind outgoing sockets to. */
  localAddress?: string | null;
  /** Send every request to this "host:port" or Unix socket path instead (Host header kept). */
  remoteConnectable?: string | null;
  /** Returns the proxy URL for a request URL, or null for direct. @default HTTP_PROXY/HTTPS_PROXY/ALL_PROXY/NO_PROXY as they are when the session is made (proxyResolverFromEnv) */
  proxyResolver?: ProxyResolver | null;
  /** Trusted CA certificates (PEM). undefined: Node's default CAs; null: every certificate fails. */
  tlsDatabase?: TlsDatabase;
  /** Client certificate and key for mutual TLS. */
  tlsInteraction?: TlsInteraction | null;
  /**
   * Offer HTTP/2 by ALPN on https connections (as libsoup 3 does); an origin that does not
   * take it is spoken to in HTTP/1.1. false: HTTP/1.1 only. A message's
   * MessageFlags.FORCE_HTTP1 keeps that message on HTTP/1.1. @default true
   */
  http2?: boolean;
  /** Features to add after the defaults. */
  features?: SessionFeature[];
  /** Add the default features (ContentDecoder, AuthManager). @default true */
  defaultFeatures?: boolean;
  /**
   * Retry failed requests (opt-in): false/0 for none, a number for that many retries with the
   * default rules, or RetryOptions. A message's own `msg.retry` wins. @default false
   */
  retry?: RetryOptions | number | boolean | null;
  /**
   * Refuse to connect to loopback, private, link-local (169.254.169.254, fe80::/10), unique
   * local, CGNAT, multicast and other non-public addresses, for the request URL and every
   * redirect target, with NetworkError `ADDRESS_BLOCKED`. Checked on the address the socket
   * connects to (inside its DNS lookup), so a name cannot resolve to a public address for a
   * check and a private one for the connect. `{ allowLoopback: true }` lets 127.0.0.0/8 and
   * ::1 through. Direct connections only: through a proxy, the proxy resolves names.
   * @default false
   */
  blockPrivateAddresses?: BlockPrivateAddressesOption;
}

export function checkCount(name: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
    throw new InvalidArgumentError(`${name} must be a positive integer, got ${String(v)}`);
  }
  return v;
}

export function checkBool(name: string, v: unknown): boolean {
  if (typeof v !== "boolean") throw new InvalidArgumentError(`${name} must be true or false, got ${String(v)}`);
  return v;
}

export function checkMs(name: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
    throw new InvalidArgumentError(`${name} must be a number of milliseconds >= 0, got ${String(v)}`);
  }
  return v;
}

export function checkOptionalString(name: string, v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== "string") throw new InvalidArgumentError(`${name} must be a string or null`);
  // Any control byte but TAB would make every request fail later (undici refuses it).
  if (/[\0-\x08\x0a-\x1f\x7f]/.test(v)) throw new InvalidArgumentError(`${name} must not contain control characters`);
  return v;
}
