/**
 * The default proxy resolver: HTTP_PROXY / HTTPS_PROXY / NO_PROXY (and their lower-case
 * forms), as curl and most tools read them. libsoup uses GProxyResolver (system settings);
 * on a server-side runtime the environment is the system setting.
 */
export type ProxyResolver = (url: URL) => string | null | Promise<string | null>;

function env(name: string): string | undefined {
  const v = process.env[name.toLowerCase()] ?? process.env[name.toUpperCase()];
  return v === undefined || v.trim() === "" ? undefined : v.trim();
}

/** True when `NO_PROXY` says `url` goes direct (host suffixes, `*`, optional ports). */
export function matchesNoProxy(url: URL, noProxy: string | undefined): boolean {
  if (noProxy === undefined) return false;
  const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  const port = url.port || (url.protocol === "https:" || url.protocol === "wss:" ? "443" : "80");
  for (let entry of noProxy.split(/[\s,]+/)) {
    entry = entry.trim().toLowerCase();
    if (entry === "") continue;
    if (entry === "*") return true;
    let entryPort: string | undefined;
    const m = /^(.*?)(?::(\d+))?$/.exec(entry.replace(/^\[|\]$/g, ""));
    if (m && m[2] && !entry.includes("::")) {
      entry = m[1];
      entryPort = m[2];
    }
    if (entryPort !== undefined && entryPort !== port) continue;
    entry = entry.replace(/^\*?\./, ".");
    if (host === entry.replace(/^\./, "") || (entry.startsWith(".") && host.endsWith(entry))) return true;
    if (!entry.startsWith(".") && host.endsWith(`.${entry}`)) return true;
  }
  return false;
}

/** Resolves from the environment each call, so changes to process.env apply. */
export const envProxyResolver: ProxyResolver = (url) => {
  if (matchesNoProxy(url, env("NO_PROXY"))) return null;
  const secure = url.protocol === "https:" || url.protocol === "wss:";
  return (secure ? env("HTTPS_PROXY") : env("HTTP_PROXY")) ?? env("ALL_PROXY") ?? null;
};
