/**
 * CookieJarText: libsoup's SoupCookieJarText, a CookieJar kept in a Netscape cookies.txt
 * file that curl can read (`curl -b cookies.txt`) and write (`curl -c cookies.txt`).
 * The file is loaded once on open; after changes it is rewritten whole, atomically (temp
 * file + rename, mode 0600), so a crash never leaves half a file. Writes are coalesced:
 * a burst of Set-Cookie headers in one response causes one write.
 */
import { randomBytes } from "node:crypto";
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import type { Cookie } from "tough-cookie";
import { CookieJar, type CookieJarOptions } from "./cookie-jar.js";
import { StoreUnavailableError } from "./errors.js";
import { formatNetscapeLine, NETSCAPE_HEADER, parseNetscapeFile } from "./netscape-format.js";

export interface CookieJarTextOptions extends Omit<CookieJarOptions, "store"> {
  /** Also write session cookies (expiry 0, as curl writes them). @default false (as libsoup) */
  persistSessionCookies?: boolean;
  /** Never write the file (libsoup's read-only jar). @default false */
  readOnly?: boolean;
}

/** Files larger than this are refused rather than read into memory. */
const MAX_FILE_BYTES = 16 * 1024 * 1024;

export class CookieJarText extends CookieJar {
  readonly path: string;
  readonly persistSessionCookies: boolean;
  readonly readOnly: boolean;
  #dirty = false;
  #scheduled: NodeJS.Immediate | null = null;
  #loading = false;

  private constructor(path: string, options: CookieJarTextOptions) {
    super(options);
    this.path = path;
    this.persistSessionCookies = options.persistSessionCookies ?? false;
    this.readOnly = options.readOnly ?? false;
  }

  /** Opens (or starts) the jar at `path`. A missing file is an empty jar. */
  static async open(path: string, options: CookieJarTextOptions = {}): Promise<CookieJarText> {
    const jar = new CookieJarText(path, options);
    let text = "";
    try {
      const buf = readFileSync(path);
      if (buf.length > MAX_FILE_BYTES) throw new StoreUnavailableError(`Cookie file ${JSON.stringify(path)} is larger than 16 MiB`);
      text = buf.toString("utf8");
    } catch (err) {
      if (err instanceof StoreUnavailableError) throw err;
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
        throw new StoreUnavailableError(`Cannot read cookie file ${JSON.stringify(path)}`, { cause: err });
      }
    }
    jar.#loading = true;
    try {
      // Through the guarded store so the caps apply to a hand-edited file too; `changed`
      // is not emitted for what was already on disk.
      for (const c of parseNetscapeFile(text)) await jar.store.putCookie(c);
    } finally {
      jar.#loading = false;
    }
    return jar;
  }

  override get isPersistent(): boolean {
    return true;
  }

  protected override onStoreChange(oldCookie: Cookie | null, newCookie: Cookie | null): void {
    if (this.#loading || this.readOnly || this.closed) return;
    if (!this.persistSessionCookies && !isPersistent(oldCookie) && !isPersistent(newCookie)) return;
    this.#dirty = true;
    // setImmediate, not a timer: the write happens right after the current burst of
    // changes, and keeping the process alive that long is what we want.
    this.#scheduled ??= setImmediate(() => {
      this.#scheduled = null;
      void this.flush().catch((err: unknown) => this.emitStoreError(err));
    });
  }

  /** Writes pending changes now. */
  async flush(): Promise<void> {
    if (!this.#dirty || this.readOnly) return;
    this.#dirty = false;
    const all: Cookie[] = await this.store.getAllCookies();
    const now = Date.now();
    let body = NETSCAPE_HEADER;
    for (const c of all) {
      const t = c.expiryTime();
      if (t !== undefined && t <= now) continue;
      if (!this.persistSessionCookies && (t === undefined || !Number.isFinite(t))) continue;
      body += `${formatNetscapeLine(c)}\n`;
    }
    const tmp = `${this.path}.${randomBytes(6).toString("hex")}.tmp`;
    try {
      writeFileSync(tmp, body, { mode: 0o600 });
      renameSync(tmp, this.path);
    } catch (err) {
      rmSync(tmp, { force: true });
      this.#dirty = true;
      throw new StoreUnavailableError(`Cannot write cookie file ${JSON.stringify(this.path)}`, { cause: err });
    }
  }

  override async close(): Promise<void> {
    if (this.closed) return;
    if (this.#scheduled) {
      clearImmediate(this.#scheduled);
      this.#scheduled = null;
    }
    await this.flush();
    await super.close();
  }
}

function isPersistent(c: Cookie | null): boolean {
  if (c === null) return false;
  const t = c.expiryTime();
  return t !== undefined && Number.isFinite(t);
}
