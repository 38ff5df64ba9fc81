/**
 * `sessionkit realtime URL`: a RealtimeSession (sessionkit/realtime) at the terminal.
 * Lines `PATH JSON` are sent, `?PATH JSON` are requests whose answers are printed; pushes
 * to the --on paths print as `PATH JSON` on stdout; state changes, recovery included, go
 * to stderr. The WebSocket upgrade goes through the (named) HTTP session, so its cookies,
 * auth, proxy and TLS settings apply.
 */
import { createInterface } from "node:readline";
import { flag, list, parseArgs, str, type OptionTable } from "./args.js";
import { ExitStatus, UsageError } from "./errors.js";
import { REALTIME_HELP } from "./help.js";
import { loadLib, loadRealtime } from "./lib.js";
import { openHttpSession } from "./http-session.js";
import { C, Painter, wantsColor } from "./output.js";
import { PASSWORD_ENV, promptHidden } from "./prompt.js";

export const REALTIME_OPTIONS: OptionTable = {
  principal: { kind: "value" },
  on: { kind: "value", repeat: true },
  send: { kind: "value" },
  request: { kind: "value" },
  session: { kind: "value" },
  reconnect: { kind: "flag", negatable: true },
  timeout: { kind: "value" },
  proxy: { kind: "value", repeat: true },
  verify: { kind: "value" },
  cert: { kind: "value" },
  key: { kind: "value" },
  help: { kind: "flag" },
};

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** `PATH JSON` (JSON may be absent: null). */
export function parseLine(line: string): { path: string; value: Json } {
  const trimmed = line.trim();
  const space = trimmed.search(/\s/);
  const path = space === -1 ? trimmed : trimmed.slice(0, space);
  const rest = space === -1 ? "" : trimmed.slice(space + 1).trim();
  if (path === "") throw new UsageError("a line is PATH JSON");
  let value: Json = null;
  if (rest !== "") {
    try {
      value = JSON.parse(rest) as Json;
    } catch {
      throw new UsageError(`not JSON after ${path}: ${JSON.stringify(rest.slice(0, 80))}`);
    }
  }
  return { path, value };
}

export async function runRealtime(argv: string[]): Promise<number> {
  const p = parseArgs(argv, REALTIME_OPTIONS);
  if (flag(p, "help")) {
    process.stdout.write(REALTIME_HELP);
    return ExitStatus.OK;
  }
  const [rawUrl, extra] = p.positionals;
  if (rawUrl === undefined) throw new UsageError("realtime needs a ws:// or wss:// URL");
  if (extra !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(extra)}`);
  const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(rawUrl) ? rawUrl : `ws://${rawUrl}`;
  const once = str(p, "send") ?? str(p, "request");
  if (str(p, "send") !== undefined && str(p, "request") !== undefined) throw new UsageError("--send and --request exclude each other");
  const oneShot = once !== undefined ? parseLine(once) : null;
  const principal = str(p, "principal") ?? "";
  let password: string | null = null;
  if (principal !== "") {
    const env = process.env[PASSWORD_ENV];
    password = env !== undefined && env !== "" ? env : process.stdin.isTTY ? await promptHidden(`Password for ${principal}: `) : null;
  }
  const timeoutSecs = str(p, "timeout") !== undefined ? Number(str(p, "timeout")) : null;
  if (timeoutSecs !== null && !(timeoutSecs > 0)) throw new UsageError("--timeout needs a number of seconds > 0");

  const err = new Painter(wantsColor(process.stderr));
  const out = new Painter(wantsColor(process.stdout));
  const note = (text: string) => process.stderr.write(`${err.paint(C.dim, `# ${text}`)}\n`);

  const [lib, rt] = await Promise.all([loadLib(), loadRealtime()]);
  const http = await openHttpSession(lib, {
    name: str(p, "session"),
    proxy: list(p, "proxy"),
    verify: str(p, "verify"),
    cert: str(p, "cert"),
    key: str(p, "key"),
  });
  const session = new rt.RealtimeSession(url, {
    principal,
    credentials: password,
    httpSession: http.session,
    ...(flag(p, "reconnect") === false ? { reconnect: false } : {}),
    ...(timeoutSecs !== null ? { connectTimeout: timeoutSecs * 1000, requestTimeout: timeoutSecs * 1000 } : {}),
  });
  const printValue = (path: string, value: unknown) => process.stdout.write(`${out.paint(C.cyan, path)} ${JSON.stringify(value)}\n`);
  for (const path of list(p, "on")) session.addHandler(path, (value) => printValue(path, value));
  session.on("state", (state) => note(`state ${state}`));
  session.on("recovered", () => note("recovered: messages kept while disconnected were replayed"));
  session.on("handler-error", (e) => note(`handler error: ${e.message}`));
  const closed = new Promise<string>((resolve) => session.on("closed", (reason) => resolve(reason.name)));
  // Ctrl-C closes the session properly (the server learns it at once) instead of dropping it.
  const onSigint = () => void session.close();
  process.once("SIGINT", onSigint);

  try {
    await session.connect();
    note(`connected as ${session.sessionId}${principal ? ` (principal ${principal})` : ""}`);
    if (oneShot !== null) {
      if (str(p, "request") !== undefined) printValue(oneShot.path, await session.request(oneShot.path, oneShot.value));
      else {
        session.send(oneShot.path, oneShot.value);
        // A one-way message is done when the server has it: a ping answers after it, in order.
        await session.pingServer();
      }
      return ExitStatus.OK;
    }
    let status: number = ExitStatus.OK;
    const rl = createInterface({ input: process.stdin, terminal: false });
    const pending = new Set<Promise<void>>();
    const ended = new Promise<void>((resolve) => rl.once("close", resolve));
    rl.on("line", (line) => {
      if (line.trim() === "" || line.trimStart().startsWith("#")) return;
      try {
        const isRequest = line.trimStart().startsWith("?");
        const { path, value } = parseLine(isRequest ? line.trimStart().slice(1) : line);
        if (!isRequest) return session.send(path, value);
        const done = session.request(path, value).then(
          (answer) => void printValue(path, answer),
          (e: unknown) => void note(`request ${path} failed: ${(e as { code?: string }).code ?? "ERROR"}: ${(e as Error).message}`),
        );
        pending.add(done);
        void done.finally(() => pending.delete(done));
      } catch (e) {
        note(`${(e as Error).message}`);
      }
    });
    const how = await Promise.race([ended.then(() => "eof"), closed]);
    if (how === "eof") {
      await Promise.all(pending);
      if (!session.isClosed) await session.pingServer().catch(() => undefined);
    } else {
      note(`closed: ${how}`);
      status = how === "CLOSED_BY_CLIENT" ? ExitStatus.OK : ExitStatus.ERROR;
      rl.close();
    }
    return status;
  } finally {
    process.off("SIGINT", onSigint);
    await session.close();
    await http.close();
    process.stdin.pause();
  }
}
