/**
 * `sessionkit [METHOD] URL [ITEM ...]`: one request through the library's Session (and,
 * when the named session has a login, through its credential session). This file turns
 * the command line into a Message and the answer into output; sending, redirects, auth,
 * cookies, HSTS, caching and decoding are the library's.
 */
import { createWriteStream } from "node:fs";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { flag, list, parseArgs, str, type OptionTable, type Parsed } from "./args.js";
import { CliError, ExitStatus, UsageError } from "./errors.js";
import { REQUEST_HELP } from "./help.js";
import { buildRequest, parseItem, type BuiltRequest, type Item } from "./items.js";
import { loadLib, loadLogin, type Lib } from "./lib.js";
import { formatBody, Painter, wantsColor } from "./output.js";
import { DownloadProgress, WireCounter } from "./progress.js";
import { passwordFromEnvOrPrompt } from "./prompt.js";
import { openHttpSession } from "./http-session.js";
import { applyAuth, digestStateAfter } from "./saved-auth.js";
import { readMeta, readSecrets, updateMeta, updateSecrets, type AuthType, type SavedAuth } from "./session-files.js";
import { loginHint, openSavedCredential } from "./credential.js";
import { lockSession, withLock } from "./store.js";

export const REQUEST_OPTIONS: OptionTable = {
  session: { kind: "value" },
  "session-read-only": { kind: "value" },
  auth: { kind: "value", short: "a" },
  "auth-type": { kind: "value", short: "A" },
  form: { kind: "flag", short: "f" },
  follow: { kind: "flag", negatable: true },
  timeout: { kind: "value" },
  proxy: { kind: "value", repeat: true },
  verify: { kind: "value" },
  cert: { kind: "value" },
  key: { kind: "value" },
  offline: { kind: "flag" },
  print: { kind: "value", short: "p" },
  headers: { kind: "flag", short: "h" },
  body: { kind: "flag", short: "b" },
  verbose: { kind: "flag", short: "v" },
  output: { kind: "value", short: "o" },
  "check-status": { kind: "flag" },
  "show-secrets": { kind: "flag" },
  help: { kind: "flag" },
};

const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"]);

/** `example.org/x` → http://example.org/x, `:3000/x` → http://localhost:3000/x (HTTPie's shorthands). */
export function normalizeUrl(input: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(input)) return input;
  if (input.startsWith(":")) return `http://localhost${/^:\d/.test(input) ? input : input.slice(1)}`;
  return `http://${input}`;
}

interface Target {
  method: string | null;
  url: string;
  items: Item[];
}

export function splitPositionals(positionals: string[]): Target {
  if (positionals.length === 0) throw new UsageError("a URL is needed (sessionkit --help)");
  let method: string | null = null;
  let rest = positionals;
  const first = positionals[0];
  // METHOD URL …: a known method in any case, or an all-capitals token, followed by a URL.
  if (positionals.length >= 2 && /^[A-Za-z]+$/.test(first) && (KNOWN_METHODS.has(first.toUpperCase()) || /^[A-Z]+$/.test(first))) {
    method = first.toUpperCase();
    rest = positionals.slice(1);
  }
  const [url, ...itemArgs] = rest;
  const items = itemArgs.map((a) => {
    const it = parseItem(a);
    if (it === null)
      throw new UsageError(
        `not a request item: ${JSON.stringify(a.slice(0, 100))} (Header:Value, name==value, field=value, field:=json, field@file)`,
      );
    return it;
  });
  return { method, url: normalizeUrl(url), items };
}

/** Which parts to print: H request headers, B request body, h response headers, b response body. */
export function printSpec(p: Parsed, stdoutIsTty: boolean): string {
  const explicit = str(p, "print");
  if (explicit !== undefined) {
    if (!/^[HBhb]*$/.test(explicit)) throw new UsageError(`--print takes letters from HBhb, got ${JSON.stringify(explicit)}`);
    return explicit;
  }
  if (flag(p, "verbose")) return "HBhb";
  if (flag(p, "headers")) return "h";
  if (flag(p, "body")) return "b";
  if (flag(p, "offline")) return "HB";
  if (str(p, "output") !== undefined) return "";
  return stdoutIsTty ? "hb" : "b";
}

async function authFromArgs(p: Parsed, url: string): Promise<SavedAuth | null> {
  const value = str(p, "auth");
  const typeArg = (str(p, "auth-type") ?? "basic").toLowerCase();
  if (typeArg !== "basic" && typeArg !== "digest" && typeArg !== "bearer") throw new UsageError("--auth-type is basic, digest or bearer");
  const type = typeArg as AuthType;
  if (value === undefined) {
    if (str(p, "auth-type") !== undefined) throw new UsageError("--auth-type needs --auth");
    return null;
  }
  if (type === "bearer") {
    const token = value !== "" ? value : await passwordFromEnvOrPrompt("Token: ");
    return { type, username: "", password: token, url };
  }
  const colon = value.indexOf(":");
  const username = colon === -1 ? value : value.slice(0, colon);
  const password = colon === -1 ? await passwordFromEnvOrPrompt(`Password for ${username}: `) : value.slice(colon + 1);
  return { type, username, password, url };
}

export async function runRequest(argv: string[]): Promise<number> {
  const p = parseArgs(argv, REQUEST_OPTIONS);
  if (flag(p, "help")) {
    process.stdout.write(REQUEST_HELP);
    return ExitStatus.OK;
  }
  const sessionName = str(p, "session") ?? str(p, "session-read-only");
  if (str(p, "session") !== undefined && str(p, "session-read-only") !== undefined)
    throw new UsageError("--session and --session-read-only exclude each other");
  const readOnly = str(p, "session-read-only") !== undefined;
  const target = splitPositionals(p.positionals);
  const built = await buildRequest(target.items, { form: flag(p, "form") === true });
  const method = target.method ?? (built.body !== null ? "POST" : "GET");
  const stdout = process.stdout;
  const print = printSpec(p, stdout.isTTY === true);
  const painter = new Painter(wantsColor(stdout));
  const showSecrets = flag(p, "show-secrets") === true;
  const argAuth = await authFromArgs(p, target.url);

  if (flag(p, "offline")) {
    const url = withQuery(target.url, built.query);
    writeRequest(painter, print, method, url, requestHeaderList(url, built), built, (_n, v) => v);
    return ExitStatus.OK;
  }

  const lib = await loadLib();
  const http = await openHttpSession(lib, {
    name: sessionName,
    readOnly,
    timeout: str(p, "timeout"),
    proxy: list(p, "proxy"),
    verify: str(p, "verify"),
    cert: str(p, "cert"),
    key: str(p, "key"),
  });
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once("SIGINT", onSigint);
  let release: (() => void) | null = null;
  try {
    const dir = http.dir;
    const auth = argAuth ?? (dir !== null ? (readSecrets(dir).auth ?? null) : null);
    if (auth !== null) applyAuth(lib, http.session, auth);

    const msg = new lib.Message(method, withQuery(target.url, built.query));
    if (flag(p, "follow") === false) msg.addFlags(lib.MessageFlags.NO_REDIRECT);
    if (built.body !== null) msg.setRequestBody(built.body.contentType, built.body.bytes);
    msg.requestHeaders.set("Accept", built.body?.contentType === "application/json" ? "application/json, */*;q=0.5" : "*/*");
    for (const [name, value] of built.headers) msg.requestHeaders.set(name, value);
    for (const it of target.items) if (it.kind === "header" && it.value === "") msg.requestHeaders.delete(it.key);

    const output = str(p, "output");
    const wire = output !== undefined ? new WireCounter(msg) : null;
    if (wire !== null) http.session.addFeature(wire as never);

    // A login rotates single-use tokens: hold the session lock until they are saved.
    let cred = null;
    if (dir !== null && readMeta(dir).login !== undefined) {
      release = await lockSession(dir);
      const loginLib = await loadLogin();
      cred = await openSavedCredential(loginLib, { name: sessionName!, dir, http: http.session, save: true });
      if (cred === null) {
        release();
        release = null;
      }
    }
    let body;
    try {
      body = cred !== null ? await cred.send(msg, { signal: abort.signal }) : await http.session.send(msg, { signal: abort.signal });
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === "SESSION_EXPIRED") {
        const kind = readMeta(dir!).login?.kind ?? "atproto";
        throw new CliError(
          "SESSION_EXPIRED",
          `the login of session ${sessionName} expired and cannot be refreshed: log in again (${loginHint(kind, sessionName!)})`,
        );
      }
      throw err;
    }
    if (release !== null) {
      release();
      release = null;
    }
    // Under the lock: a login's rotation may be written to secrets.json at the same moment.
    if (dir !== null && !readOnly && auth !== null) await withLock(dir, () => saveAuth(lib, dir, msg, auth, argAuth !== null));

    const redact = showSecrets ? (_n: string, v: string) => v : lib.redactHeaderValue;
    if (print.includes("H") || print.includes("B")) {
      writeRequest(painter, print, msg.method, msg.url, [["Host", msg.url.host], ...msg.requestHeaders], built, redact);
      if (print.includes("h") || print.includes("b")) stdout.write("\n");
    }
    const responseHead = [
      painter.statusLine(msg.httpVersion, msg.status, msg.reasonPhrase),
      ...[...msg.responseHeaders].map(([n, v]) => painter.header(n, redact(n, v))),
    ].join("\n");
    if (print.includes("h")) stdout.write(`${responseHead}\n\n`);

    if (output !== undefined) {
      await download(body, msg, output, wire!);
    } else if (print.includes("b")) {
      if (stdout.isTTY) {
        const bytes = await body.bytes();
        const text = formatBody(bytes, msg.responseHeaders.get("Content-Type"), painter);
        if (text !== "") stdout.write(`${text}\n`);
      } else {
        await pipeline(body.stream, stdout as unknown as Writable, { end: false });
        // With headers around it, the body ends its own paragraph (as HTTPie prints it).
        if (print !== "b") stdout.write("\n");
      }
    } else {
      body.cancel();
    }
    return checkStatus(p, msg.status, msg.reasonPhrase);
  } catch (err) {
    // Ctrl-C while the body streams destroys it with ABORTED: that is an interruption.
    if (abort.signal.aborted) throw new CliError("INTERRUPTED", "interrupted", ExitStatus.INTERRUPTED);
    throw err;
  } finally {
    release?.();
    process.off("SIGINT", onSigint);
    await http.close();
  }
}

function withQuery(url: string, query: BuiltRequest["query"]): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`not a URL: ${JSON.stringify(url.slice(0, 200))}`);
  }
  for (const [k, v] of query) u.searchParams.append(k, v);
  return u;
}

function requestHeaderList(url: URL, built: BuiltRequest): Array<[string, string]> {
  const list: Array<[string, string]> = [["Host", url.host]];
  if (built.body !== null) list.push(["Content-Type", built.body.contentType], ["Content-Length", String(built.body.bytes.length)]);
  return [...list, ...built.headers];
}

function writeRequest(
  painter: Painter,
  print: string,
  method: string,
  url: URL,
  headers: Iterable<[string, string]>,
  built: BuiltRequest,
  redact: (name: string, value: string) => string,
): void {
  const out = process.stdout;
  if (print.includes("H")) {
    const lines = [painter.requestLine(method, url.pathname + url.search)];
    for (const [n, v] of headers) lines.push(painter.header(n, redact(n, v)));
    out.write(`${lines.join("\n")}\n\n`);
  }
  if (print.includes("B") && built.body !== null) {
    const text = formatBody(built.body.bytes, built.body.contentType, painter);
    if (text !== "") out.write(`${text}\n`);
  }
}

function saveAuth(lib: Lib, dir: string, msg: InstanceType<Lib["Message"]>, auth: SavedAuth, fromArgs: boolean): void {
  if (msg.status === 401) return; // refused credentials are not worth keeping
  const digest = auth.type === "digest" ? digestStateAfter(lib, msg) : null;
  if (!fromArgs && digest === null) return;
  const next: SavedAuth = { ...auth, ...(digest !== null ? { digest } : {}) };
  updateSecrets(dir, (s) => {
    s.auth = next;
  });
  if (fromArgs) {
    updateMeta(dir, (m) => {
      m.auth = {
        type: auth.type,
        username: auth.username,
        origin: new URL(auth.url).origin,
        ...(digest?.params.realm ? { realm: digest.params.realm } : {}),
      };
    });
  }
}

type Body = Awaited<ReturnType<InstanceType<Lib["Session"]>["send"]>>;

async function download(body: Body, msg: InstanceType<Lib["Message"]>, path: string, wire: WireCounter): Promise<void> {
  const stderr = process.stderr;
  const tty = stderr.isTTY === true;
  const length = Number(msg.responseHeaders.get("Content-Length"));
  const encoded = msg.responseHeaders.get("Content-Encoding") !== null;
  const painter = new Painter(wantsColor(stderr));
  if (tty) stderr.write(`${painter.statusLine(msg.httpVersion, msg.status, msg.reasonPhrase)}\nDownloading to ${path}\n`);
  const progress = tty
    ? new DownloadProgress({
        total: Number.isFinite(length) && length > 0 ? length : null,
        encoded,
        wire,
        color: painter.color,
        columns: stderr.columns ?? 80,
        write: (t) => stderr.write(t),
      })
    : null;
  const file = createWriteStream(path, { mode: 0o666 });
  await pipeline(async function* () {
    for await (const chunk of body) {
      progress?.add(chunk.length);
      yield chunk;
    }
  }, file);
  progress?.finish();
}

function checkStatus(p: Parsed, status: number, reason: string): number {
  if (!flag(p, "check-status") || status < 300) return ExitStatus.OK;
  const exit = status >= 500 ? ExitStatus.HTTP_5XX : status >= 400 ? ExitStatus.HTTP_4XX : ExitStatus.HTTP_3XX;
  // The status line may not have been printed (piped output): say it on stderr, as HTTPie does.
  if (!process.stdout.isTTY) process.stderr.write(`sessionkit: warning: HTTP ${status} ${reason}\n`);
  return exit;
}
