/**
 * `sessionkit sessions list|show|rm|export`: what named sessions hold, read through the
 * library's own persistent features (CookieJarDB, HSTSEnforcerDB). Secrets are shown as
 * [REDACTED] unless --show-secrets is given.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { flag, parseArgs, str, type OptionTable } from "./args.js";
import { CliError, ExitStatus, UsageError } from "./errors.js";
import { SESSIONS_HELP } from "./help.js";
import { loadLib } from "./lib.js";
import { Painter, wantsColor, C } from "./output.js";
import { readMeta, readSecrets, type SessionMeta, type SessionSecrets } from "./session-files.js";
import { checkName, FILES, listSessions, removeSession, sessionDir, sessionExists } from "./store.js";

export const SESSIONS_OPTIONS: OptionTable = {
  json: { kind: "flag" },
  "show-secrets": { kind: "flag" },
  help: { kind: "flag" },
};

const REDACTED = "[REDACTED]";

interface CookieView {
  name: string;
  value: string;
  domain: string;
  path: string;
  expires: string | null;
  secure: boolean;
  httpOnly: boolean;
  sameSite: string | null;
  hostOnly: boolean;
}

interface HstsView {
  host: string;
  expires: string | null;
  includeSubDomains: boolean;
}

export interface SessionView {
  name: string;
  path: string;
  created: string;
  updated: string | null;
  login: (SessionMeta["login"] & { sessionString?: string; apiKey?: string }) | null;
  auth: (SessionMeta["auth"] & { password?: string; digestNonceCount?: number }) | null;
  cookies: CookieView[];
  hsts: HstsView[];
  cache: string[];
}

async function view(name: string, showSecrets: boolean): Promise<SessionView> {
  const dir = sessionDir(name);
  const meta = readMeta(dir);
  const secrets: SessionSecrets = readSecrets(dir);
  const lib = await loadLib();
  const cookies: CookieView[] = [];
  const cookiePath = join(dir, FILES.cookies);
  if (existsSync(cookiePath)) {
    const jar = await lib.CookieJarDB.open(cookiePath, { persistSessionCookies: true });
    try {
      for (const c of await jar.allCookies()) {
        cookies.push({
          name: c.name,
          value: showSecrets ? c.value : REDACTED,
          domain: c.domain,
          path: c.path,
          expires: c.expires === null || !Number.isFinite(c.expires.getTime()) ? null : c.expires.toISOString(),
          secure: c.secure,
          httpOnly: c.httpOnly,
          sameSite: c.sameSite,
          hostOnly: c.hostOnly,
        });
      }
    } finally {
      await jar.close();
    }
  }
  const hsts: HstsView[] = [];
  const hstsPath = join(dir, FILES.hsts);
  if (existsSync(hstsPath)) {
    const enforcer = await lib.HSTSEnforcerDB.open(hstsPath);
    try {
      for (const pol of enforcer.getPolicies(false)) {
        const exp = pol.expires;
        hsts.push({
          host: pol.domain,
          expires: exp instanceof Date && Number.isFinite(exp.getTime()) ? exp.toISOString() : null,
          includeSubDomains: pol.includeSubDomains,
        });
      }
    } finally {
      await enforcer.close();
    }
  }
  const login = meta.login
    ? {
        ...meta.login,
        ...(secrets.login ? { sessionString: showSecrets ? secrets.login.sessionString : REDACTED } : {}),
        ...(secrets.login?.apiKey ? { apiKey: showSecrets ? secrets.login.apiKey : REDACTED } : {}),
      }
    : null;
  const auth = meta.auth
    ? {
        ...meta.auth,
        ...(secrets.auth ? { password: showSecrets ? secrets.auth.password : REDACTED } : {}),
        ...(secrets.auth?.digest ? { digestNonceCount: secrets.auth.digest.nc } : {}),
      }
    : null;
  return {
    name,
    path: dir,
    created: meta.created,
    updated: meta.updated ?? null,
    login,
    auth,
    cookies,
    hsts,
    cache: await cachedKeys(join(dir, FILES.cache)),
  };
}

/**
 * The URLs in the session's cache. The CacheStorage contract has no listing (the Cache
 * never needs one), so this reads SqliteCacheStorage's table directly, read-only.
 */
async function cachedKeys(path: string): Promise<string[]> {
  if (!existsSync(path)) return [];
  try {
    const Database = (await import("better-sqlite3")).default;
    const db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      const rows = db.prepare("SELECT DISTINCT key FROM sessionkit_cache ORDER BY key").all() as Array<{ key: string }>;
      return rows.map((r) => r.key);
    } finally {
      db.close();
    }
  } catch {
    return [];
  }
}

function requireExisting(name: string | undefined): string {
  if (name === undefined) throw new UsageError("a session NAME is needed");
  checkName(name);
  if (!sessionExists(name)) throw new CliError("SESSION_NOT_FOUND", `no session named ${JSON.stringify(name)} (see sessionkit sessions list)`);
  return name;
}

function date(iso: string | null | undefined): string {
  return iso ? iso.replace("T", " ").replace(/\.\d+Z$/, " UTC") : "never";
}

function describeLogin(l: NonNullable<SessionView["login"]>): string {
  if (l.expired) return `${l.kind} at ${l.service}: expired ${date(l.expired)}, log in again`;
  const who = l.kind === "atproto" ? `${l.handle} (${l.did}) via ${l.pds}` : l.service;
  const until = l.accessExpires ? `; access token until ${date(l.accessExpires)}, refresh token until ${date(l.refreshExpires)}` : "";
  const rotated = l.refreshed ? `; last refreshed ${date(l.refreshed)}` : "";
  const secret = l.sessionString !== undefined ? `\n    session string: ${l.sessionString}` : "";
  const key = l.apiKey !== undefined ? `\n    API key: ${l.apiKey}` : "";
  return `${l.kind} ${who}, logged in ${date(l.created)}${until}${rotated}${secret}${key}`;
}

function printView(v: SessionView, painter: Painter): void {
  const h = (t: string) => painter.paint(C.bold, t);
  const lines = [`${h("Session")} ${v.name}  (${v.path})`, `  created ${date(v.created)}, updated ${date(v.updated)}`];
  lines.push(`${h("Login:")} ${v.login ? describeLogin(v.login) : "none"}`);
  if (v.auth) {
    const pw = v.auth.password !== undefined ? `, password ${v.auth.password}` : "";
    const nc = v.auth.digestNonceCount !== undefined ? `, nonce counted to ${v.auth.digestNonceCount}` : "";
    lines.push(
      `${h("Auth:")} ${v.auth.type} as ${JSON.stringify(v.auth.username)} for ${v.auth.origin}${v.auth.realm ? ` (realm ${JSON.stringify(v.auth.realm)})` : ""}${pw}${nc}`,
    );
  } else lines.push(`${h("Auth:")} none`);
  lines.push(`${h(`Cookies (${v.cookies.length}):`)}`);
  for (const c of v.cookies) {
    const flags = [c.secure ? "Secure" : "", c.httpOnly ? "HttpOnly" : "", c.sameSite ? `SameSite=${c.sameSite}` : ""].filter(Boolean).join(" ");
    lines.push(
      `  ${c.name}=${c.value}  ${c.hostOnly ? "" : "."}${c.domain}${c.path}  expires ${c.expires ? date(c.expires) : "at session end (kept)"}${flags ? `  ${flags}` : ""}`,
    );
  }
  lines.push(`${h(`HSTS hosts (${v.hsts.length}):`)}`);
  for (const s of v.hsts) lines.push(`  ${s.host}  until ${date(s.expires)}${s.includeSubDomains ? "  includeSubDomains" : ""}`);
  lines.push(`${h(`Cached responses (${v.cache.length}):`)}`);
  for (const k of v.cache) lines.push(`  ${k}`);
  process.stdout.write(`${lines.join("\n")}\n`);
}

export async function runSessions(argv: string[]): Promise<number> {
  const p = parseArgs(argv, SESSIONS_OPTIONS);
  if (flag(p, "help")) {
    process.stdout.write(SESSIONS_HELP);
    return ExitStatus.OK;
  }
  const [sub, name, extra] = p.positionals;
  if (extra !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(extra)}`);
  const json = flag(p, "json") === true;
  const showSecrets = flag(p, "show-secrets") === true;
  const painter = new Painter(wantsColor(process.stdout));
  switch (sub) {
    case "list": {
      const views = [];
      for (const n of listSessions()) views.push(await view(n, false));
      if (json) {
        process.stdout.write(
          `${JSON.stringify(
            views.map((v) => ({
              name: v.name,
              login: v.login?.kind ?? null,
              auth: v.auth?.type ?? null,
              cookies: v.cookies.length,
              hsts: v.hsts.length,
              cache: v.cache.length,
            })),
            null,
            2,
          )}\n`,
        );
      } else if (views.length === 0) process.stdout.write("No sessions yet: make one with --session NAME.\n");
      else {
        for (const v of views) {
          const login = v.login
            ? v.login.expired
              ? `${v.login.kind} (expired)`
              : `${v.login.kind}${v.login.handle ? ` ${v.login.handle}` : ""}`
            : "-";
          process.stdout.write(
            `${painter.paint(C.bold, v.name)}  login: ${login}  auth: ${v.auth?.type ?? "-"}  cookies: ${v.cookies.length}  hsts: ${v.hsts.length}  cached: ${v.cache.length}\n`,
          );
        }
      }
      return ExitStatus.OK;
    }
    case "show": {
      const v = await view(requireExisting(name), showSecrets);
      if (json) process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
      else printView(v, painter);
      return ExitStatus.OK;
    }
    case "export": {
      const v = await view(requireExisting(name), showSecrets);
      process.stdout.write(`${JSON.stringify({ sessionkit: 1, exported: new Date().toISOString(), secretsIncluded: showSecrets, ...v }, null, 2)}\n`);
      return ExitStatus.OK;
    }
    case "rm": {
      removeSession(requireExisting(name));
      process.stderr.write(`Removed session ${name}\n`);
      return ExitStatus.OK;
    }
    default:
      throw new UsageError("sessions needs list, show NAME, rm NAME or export NAME");
  }
}
