/**
 * The CLI on a real terminal (a pty made by util-linux `script`): coloured status line,
 * headers and JSON, NO_COLOR, and the download progress bar through gzip. Also: every
 * option a command parses is in its --help.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { gzipSync } from "node:zlib";
import { LOGIN_HELP, LOGOUT_HELP, REALTIME_HELP, REQUEST_HELP, SESSIONS_HELP } from "../../src/cli/help.js";
import { LOGIN_OPTIONS, LOGOUT_OPTIONS } from "../../src/cli/login.js";
import { REALTIME_OPTIONS } from "../../src/cli/realtime.js";
import { REQUEST_OPTIONS } from "../../src/cli/request.js";
import { SESSIONS_OPTIONS } from "../../src/cli/sessions.js";
import { cli, cliEntry, startServer, tempConfig } from "./helpers.js";

const hasScript = (() => {
  try {
    execFileSync("script", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

/** Runs the CLI with stdin, stdout and stderr on one pty; resolves to everything it printed. */
async function onTerminal(args: string[], env: Record<string, string | undefined>): Promise<{ status: number | null; out: string }> {
  const command = [process.execPath, ...(await cliEntry()), ...args].map(quote).join(" ");
  return new Promise((resolve, reject) => {
    const child = spawn("script", ["-qefc", command, "/dev/null"], {
      env: { ...process.env, NO_COLOR: undefined, TERM: "xterm-256color", COLUMNS: "100", ...env } as NodeJS.ProcessEnv,
      stdio: ["pipe", "pipe", "inherit"],
    });
    const out: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, out: Buffer.concat(out).toString("utf8") }));
    child.stdin.end();
  });
}

test(
  "on a terminal: coloured status line, headers and JSON; NO_COLOR keeps the layout without colour",
  { skip: !hasScript && "util-linux script is not installed" },
  async () => {
    using cfg = tempConfig();
    await using srv = await startServer((_req, res) =>
      res.writeHead(200, { "content-type": "application/json" }).end('{"name":"sessionkit","n":3,"ok":true}'),
    );
    const [coloured, plain] = await Promise.all([onTerminal([srv.url], cfg.env), onTerminal([srv.url], { ...cfg.env, NO_COLOR: "1" })]);
    assert.equal(coloured.status, 0, coloured.out);
    assert.match(coloured.out, /\x1b\[34mHTTP\x1b\[0m\/\x1b\[34m1\.1\x1b\[0m \x1b\[1m\x1b\[32m200 OK\x1b\[0m/);
    assert.match(coloured.out, /\x1b\[36mcontent-type\x1b\[0m: application\/json/);
    assert.match(coloured.out, /\x1b\[34m"name"\x1b\[0m: \x1b\[33m"sessionkit"\x1b\[0m/);
    assert.match(coloured.out, /\x1b\[36m3\x1b\[0m/);
    assert.equal(plain.status, 0, plain.out);
    assert.ok(!plain.out.includes("\x1b["), "NO_COLOR: no escape sequences");
    assert.match(plain.out, /HTTP\/1\.1 200 OK\r\n/);
    assert.match(plain.out, /\{\r\n {4}"name": "sessionkit",\r\n {4}"n": 3,\r\n {4}"ok": true\r\n\}/);
  },
);

test(
  "on a terminal: a download to a file shows a progress bar with wire and decoded bytes",
  { skip: !hasScript && "util-linux script is not installed" },
  async () => {
    using cfg = tempConfig();
    const data = Buffer.alloc(4_000_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919) % 251 < 32 ? 97 + (i % 26) : 32; // compressible, not trivial
    const gz = gzipSync(data);
    await using srv = await startServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/octet-stream", "content-encoding": "gzip", "content-length": String(gz.length) });
      // Slowly, so the bar is drawn more than once.
      const steps = 8;
      let i = 0;
      const tick = () => {
        const end = Math.round(((i + 1) * gz.length) / steps);
        res.write(gz.subarray(Math.round((i * gz.length) / steps), end));
        if (++i < steps) setTimeout(tick, 60);
        else res.end();
      };
      tick();
    });
    const file = join(cfg.dir, "download.bin");
    const r = await onTerminal([`${srv.url}/file`, "-o", file], cfg.env);
    assert.equal(r.status, 0, r.out);
    assert.deepEqual(readFileSync(file), data);
    assert.match(r.out, /200 OK/);
    assert.match(r.out, new RegExp(`Downloading to ${file.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}`));
    assert.match(
      r.out,
      /\r +\d+% {2}\[\x1b\[32m=*>? *\x1b\[0m\] {2}[\d.]+ [kM]?B \/ [\d.]+ kB {2}[\d.]+ [kM]?B\/s {2}ETA \d+:\d\d {2}\([\d.]+ [kM]?B decoded\)/,
    );
    assert.match(r.out, /Done\. [\d.]+ kB in [\d.]+ s \([\d.]+ [kM]?B\/s, 4\.0 MB decoded\)/);
  },
);

test("--help of each command lists every option the command takes", async () => {
  const tables: Array<[string, Record<string, { short?: string; negatable?: boolean }>]> = [
    [REQUEST_HELP, REQUEST_OPTIONS],
    [LOGIN_HELP, LOGIN_OPTIONS],
    [LOGOUT_HELP, LOGOUT_OPTIONS],
    [SESSIONS_HELP, SESSIONS_OPTIONS],
    [REALTIME_HELP, REALTIME_OPTIONS],
  ];
  for (const [help, table] of tables) {
    for (const [name, spec] of Object.entries(table)) {
      const written = help.includes(`--${name}`) || (spec.negatable === true && help.includes(`--no-${name}`));
      assert.ok(written, `--${name} in ${help.split("\n")[0]}`);
      if (spec.short) assert.ok(help.includes(`-${spec.short}, --${name}`), `-${spec.short} in ${help.split("\n")[0]}`);
    }
  }
  using cfg = tempConfig();
  const [main, login, sessions] = await Promise.all([
    cli(["--help"], { env: cfg.env }),
    cli(["login", "--help"], { env: cfg.env }),
    cli(["sessions", "--help"], { env: cfg.env }),
  ]);
  assert.equal(main.status, 0);
  assert.match(main.stdout, /SESSIONKIT_PASSWORD/);
  assert.match(main.stdout, /never type them on the command line/);
  assert.equal(login.stdout, LOGIN_HELP);
  assert.equal(sessions.stdout, SESSIONS_HELP);
});
