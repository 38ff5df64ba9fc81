/**
 * Builds the HTTP Session a command runs on: the library's Session with the named
 * session's persistent features (CookieJarDB, HSTSEnforcerDB, a Cache on
 * SqliteCacheStorage) and the connection options of the command line. Nothing here speaks
 * HTTP; it only chooses and opens library parts.
 *
 * `--session-read-only` uses the same state without changing it: cookies and HSTS
 * policies are copied into in-memory features, and the cache is read but never written.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CliError, UsageError } from "./errors.js";
import type { Lib } from "./lib.js";
import { ensureSession, FILES, privateFile, sessionDir, sessionExists } from "./store.js";

type Session = InstanceType<Lib["Session"]>;
type CacheStorage = import("../index.js").CacheStorage;

export interface ConnectionOptions {
  /** Seconds; 0 for none. */
  timeout?: string;
  proxy?: string[];
  verify?: string;
  cert?: string;
  key?: string;
}

export interface HttpSessionOptions extends ConnectionOptions {
  /** The named session, or none (a one-off request). */
  name?: string;
  readOnly?: boolean;
}

export interface OpenedHttp {
  session: Session;
  /** The session directory (null for a one-off request). */
  dir: string | null;
  readOnly: boolean;
  close(): Promise<void>;
}

export function connectionSettings(o: ConnectionOptions): Record<string, unknown> {
  const settings: Record<string, unknown> = {};
  if (o.timeout !== undefined) {
    const secs = Number(o.timeout);
    if (!Number.isFinite(secs) || secs < 0) throw new UsageError(`--timeout needs a number of seconds, got ${JSON.stringify(o.timeout)}`);
    settings.timeout = Math.round(secs * 1000);
  }
  if (o.proxy !== undefined && o.proxy.length > 0) settings.proxyResolver = proxyResolver(o.proxy);
  if (o.verify !== undefined) {
    const v = o.verify.toLowerCase();
    if (v === "no" || v === "false") {
      throw new UsageError(
        "--verify=no is not supported: sessionkit always checks certificates; pass the CA file that signed the server's (--verify CA.pem)",
      );
    }
    if (v !== "yes" && v !== "true") settings.tlsDatabase = readPem(o.verify, "--verify");
  }
  if ((o.cert === undefined) !== (o.key === undefined)) throw new UsageError("--cert and --key go together");
  if (o.cert !== undefined && o.key !== undefined) settings.tlsInteraction = { cert: readPem(o.cert, "--cert"), key: readPem(o.key, "--key") };
  return settings;
}

function readPem(path: string, option: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new UsageError(`${option}: cannot read ${JSON.stringify(path)} (${(err as NodeJS.ErrnoException).code ?? "error"})`);
  }
}

/** `--proxy URL` for every scheme, or HTTPie's `--proxy SCHEME:URL` per scheme. */
function proxyResolver(values: string[]): (url: URL) => string | null {
  const byScheme = new Map<string, string>();
  let all: string | null = null;
  for (const v of values) {
    const m = /^(https?|wss?):(?!\/\/)(.+)$/i.exec(v);
    const target = m ? m[2] : v;
    try {
      new URL(target.includes("://") ? target : `http://${target}`);
    } catch {
      throw new UsageError(`--proxy: not a URL: ${JSON.stringify(target.slice(0, 100))}`);
    }
    if (m) byScheme.set(`${m[1].toLowerCase()}:`, target);
    else all = target;
  }
  return (url) => byScheme.get(url.protocol) ?? all;
}

export async function openHttpSession(lib: Lib, o: HttpSessionOptions): Promise<OpenedHttp> {
  const settings = connectionSettings(o);
  const closers: Array<() => unknown> = [];
  const features: object[] = [];
  let dir: string | null = null;
  const readOnly = o.readOnly === true;
  if (o.name !== undefined) {
    if (readOnly) {
      if (!sessionExists(o.name))
        throw new CliError("SESSION_NOT_FOUND", `no session named ${JSON.stringify(o.name)} (see sessionkit sessions list)`);
      dir = sessionDir(o.name);
    } else dir = ensureSession(o.name);
    const file = (f: string) => privateFile(join(dir!, f));
    try {
      if (readOnly) {
        const db = await lib.CookieJarDB.open(file(FILES.cookies), { persistSessionCookies: true });
        const jar = new lib.CookieJar();
        for (const c of await db.allCookies()) await jar.addCookie(c);
        await db.close();
        const hstsDb = await lib.HSTSEnforcerDB.open(file(FILES.hsts));
        const hsts = new lib.HSTSEnforcer();
        for (const p of hstsDb.getPolicies(false)) hsts.setPolicy(p);
        await hstsDb.close();
        const storage = await lib.SqliteCacheStorage.open(file(FILES.cache));
        closers.push(() => storage.close());
        features.push(jar, hsts, new lib.Cache({ storage: readOnlyStorage(storage) }));
      } else {
        // Session cookies are kept too: a named session is one long browsing session, as in HTTPie.
        const jar = await lib.CookieJarDB.open(file(FILES.cookies), { persistSessionCookies: true });
        closers.push(() => jar.close());
        const hsts = await lib.HSTSEnforcerDB.open(file(FILES.hsts));
        closers.push(() => hsts.close());
        const storage = await lib.SqliteCacheStorage.open(file(FILES.cache));
        closers.push(() => storage.close());
        features.push(jar, hsts, new lib.Cache({ storage }));
      }
    } catch (err) {
      for (const c of closers.reverse()) await c();
      throw err;
    }
  }
  const session = new lib.Session({ ...settings, features: features as never });
  return {
    session,
    dir,
    readOnly,
    async close() {
      await session.close();
      for (const c of closers.reverse()) await c();
    },
  };
}

/** The session's cache, looked up but never changed (for --session-read-only). */
function readOnlyStorage(inner: CacheStorage): CacheStorage {
  return {
    get maxSize() {
      return inner.maxSize;
    },
    set maxSize(_v: number) {},
    get size() {
      return inner.size;
    },
    get: (key) => inner.get(key),
    put: () => undefined,
    delete: () => undefined,
    clear: () => undefined,
    flush: () => undefined,
    close: () => undefined,
  };
}
