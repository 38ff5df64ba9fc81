/**
 * The default proxy resolver: HTTP_PROXY / HTTPS_PROXY / NO_PROXY (and their lower-case
 * forms), as curl and most tools read them. libsoup uses GProxyResolver (system settings);
 * on a server-side runtime the environment is the system setting.
 */
export type ProxyResolver = (url: URL) => string | null | Promise<string | null>;

type Env = Record<string, string | undefined>;

function read(env: Env, name: string): string | undefined {
  const v = env[name.toLowerCase()] ?? env[name.toUpperCase()];
  return v === undefined || v.trim() === "" ? undefined : v.trim();
}

/** True when `NO_PROXY` says `url` goes direct (host suffixes, `*`, optional ports, IPv6 in brackets). */
export function matchesNoProxy(url: URL, noProxy: string | undefined): boolean {
  if (noProxy === undefined) return false;
  const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  const port = url.port || (url.protocol === "https:" || url.protocol === "wss:" ? "443" : "80");
  for (const raw of noProxy.split(/[\s,]+/)) {
    const parsed = parseNoProxyEntry(raw.trim().toLowerCase());
    if (parsed === null) continue;
    if (parsed.host === "*") return true;
    if (parsed.port !== undefined && parsed.port !== port) continue;
    const entry = parsed.host.replace(/^\*?\./, ".");
    if (host === entry.replace(/^\./, "") || (entry.startsWith(".") && host.endsWith(entry))) return true;
    if (!entry.startsWith(".") && host.endsWith(`.${entry}`)) return true;
  }
  return false;
}

/** `host`, `host:port`, `[v6]`, `[v6]:port`, or a bare IPv6 address (no port possible). */
function parseNoProxyEntry(entry: string): { host: string; port?: string } | null {
  if (entry === "") return null;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracketed) return { host: bracketed[1], port: bracketed[2] };
  if (entry.indexOf(":") !== entry.lastIndexOf(":")) return { host: entry }; // bare IPv6
  const withPort = /^(.*):(\d+)$/.exec(entry);
  return withPort ? { host: withPort[1], port: withPort[2] } : { host: entry };
}

/** Always direct (what the environment says when it names no proxy). */
export const directResolver: ProxyResolver = () => null;

/** Resolves from the environment each call, so changes to process.env apply (slower). */
export const envProxyResolver: ProxyResolver = (url) =>
  resolveFrom(url, read(process.env, "NO_PROXY"), read(process.env, "HTTPS_PROXY"), read(process.env, "HTTP_PROXY"), read(process.env, "ALL_PROXY"));

function resolveFrom(
  url: URL,
  noProxy: string | undefined,
  https: string | undefined,
  http: string | undefined,
  all: string | undefined,
): string | null {
  if (matchesNoProxy(url, noProxy)) return null;
  const secure = url.protocol === "https:" || url.protocol === "wss:";
  return (secure ? https : http) ?? all ?? null;
}

/**
 * The Session's default: the proxy variables read once, when the session is made. Reading
 * process.env on every request showed up in profiles (each read crosses into C++); a
 * session made after the environment changes sees the change. With no proxy variable set
 * at all it returns `directResolver`, which the session recognises and skips.
 */
export function proxyResolverFromEnv(env: Env = process.env): ProxyResolver {
  const noProxy = read(env, "NO_PROXY");
  const https = read(env, "HTTPS_PROXY");
  const http = read(env, "HTTP_PROXY");
  const all = read(env, "ALL_PROXY");
  if (https === undefined && http === undefined && all === undefined) return directResolver;
  return (url) => resolveFrom(url, noProxy, https, http, all);
}
