/**
 * Where named sessions live and how their files are written. A session is a directory
 * `$XDG_CONFIG_HOME/sessionkit/sessions/NAME/` (0700) holding:
 *
 *   session.json   what the session is (login kind, service, account, auth scheme): no secrets
 *   secrets.json   passwords, tokens, session strings, API keys (0600, like every file here)
 *   cookies.sqlite, hsts.sqlite, cache.sqlite   the CookieJarDB, HSTSEnforcerDB and cache
 *
 * Two commands may use one session at once: the SQLite files rely on SQLite's locking, the
 * JSON files are replaced atomically (write a temporary file, then rename) under a lock
 * file, and a credential session holds that lock while it may rotate its tokens.
 */
import {
  closeSync,
  constants,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
  chmodSync,
} from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { CliError, UsageError } from "./errors.js";

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export const FILES = {
  meta: "session.json",
  secrets: "secrets.json",
  cookies: "cookies.sqlite",
  hsts: "hsts.sqlite",
  cache: "cache.sqlite",
  lock: ".lock",
} as const;

export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CONFIG_HOME;
  return join(xdg !== undefined && xdg !== "" ? xdg : join(homedir(), ".config"), "sessionkit");
}

export function sessionsDir(): string {
  return join(configDir(), "sessions");
}

export function checkName(name: string): string {
  if (!NAME.test(name)) {
    throw new UsageError(`invalid session name ${JSON.stringify(name.slice(0, 80))}: use letters, digits, ".", "_" and "-" (at most 64)`);
  }
  return name;
}

export function sessionDir(name: string): string {
  return join(sessionsDir(), checkName(name));
}

export function sessionExists(name: string): boolean {
  try {
    return statSync(join(sessionDir(name), FILES.meta)).isFile();
  } catch {
    return false;
  }
}

export function listSessions(): string[] {
  try {
    return readdirSync(sessionsDir())
      .filter((n) => NAME.test(n) && sessionExists(n))
      .sort();
  } catch {
    return [];
  }
}

/** Makes the session directory (0700, and its parents) and an empty session.json. */
export function ensureSession(name: string): string {
  const dir = sessionDir(name);
  for (const d of [configDir(), sessionsDir(), dir]) {
    mkdirSync(d, { recursive: true, mode: 0o700 });
    // mkdir leaves an existing directory's mode alone; a session must not stay readable.
    if (d === dir) chmodSync(d, 0o700);
  }
  if (!sessionExists(name)) writeJson(join(dir, FILES.meta), { version: 1, created: new Date().toISOString() });
  return dir;
}

/**
 * Creates `path` with mode 0600 when it is missing (SQLite then gives its -wal and -shm
 * files the same mode), and takes group/other access away when it exists.
 */
export function privateFile(path: string): string {
  closeSync(openSync(path, constants.O_CREAT | constants.O_RDWR, 0o600));
  chmodSync(path, 0o600);
  return path;
}

export function readJson<T>(path: string): T | null {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new CliError("SESSION_FILE_CORRUPT", `${path} is not valid JSON; remove it or the session (sessionkit sessions rm)`);
  }
}

/** Replaces `path` atomically: readers see the old file or the new one, never half of one. */
export function writeJson(path: string, value: unknown): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

export function removeSession(name: string): boolean {
  const dir = sessionDir(name);
  if (!sessionExists(name)) return false;
  rmSync(dir, { recursive: true, force: true });
  return true;
}

// ── the lock ──────────────────────────────────────────────────────────────────────────

const LOCK_WAIT_MS = 30_000;
const LOCK_POLL_MS = 15;

function holderAlive(path: string): boolean {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(path, "utf8"), 10);
  } catch {
    return true; // being written right now: its holder is alive
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * An exclusive lock on one session across processes: a file made with O_EXCL that holds
 * the owner's pid. A lock whose owner died (a killed command) is taken over. Returns the
 * release function.
 */
export async function lockSession(dir: string): Promise<() => void> {
  const path = join(dir, FILES.lock);
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const fd = openSync(path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        try {
          unlinkSync(path);
        } catch {
          // already gone (sessions rm): nothing to release
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    if (!holderAlive(path)) {
      try {
        unlinkSync(path);
      } catch {
        // another waiter took it over first
      }
      continue;
    }
    if (Date.now() > deadline) throw new CliError("SESSION_LOCKED", `another sessionkit command has held ${path} for ${LOCK_WAIT_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, LOCK_POLL_MS));
  }
}

/** Runs `fn` under the session's lock. */
export async function withLock<T>(dir: string, fn: () => T | Promise<T>): Promise<T> {
  const release = await lockSession(dir);
  try {
    return await fn();
  } finally {
    release();
  }
}
