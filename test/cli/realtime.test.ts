/**
 * `sessionkit realtime URL` against a local RealtimeServer: one-shot --send and --request,
 * typed lines with pushes printed as they come, state changes on stderr, refused
 * credentials as one error line, recovery after a dropped connection.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";
import { RealtimeServer } from "../../src/realtime/index.js";
import { startRelay, waitFor } from "../realtime/helpers.js";
import { cli, cliEntry, tempConfig } from "./helpers.js";

test("realtime: --request, --send, typed lines with pushes, and a refused principal", async () => {
  using cfg = tempConfig();
  const server = new RealtimeServer({
    pingPeriod: 1000,
    keepAlive: 5000,
    authenticator: (principal, credentials) => principal === "" || (principal === "ops" && credentials.text() === "rt-pass"),
  });
  const url = await server.listen(0);
  const notes: unknown[] = [];
  server.addHandler("double", (value) => (value as number) * 2);
  server.addHandler("note", (value, session) => {
    notes.push(value);
    if (value === "go") session.send("news", { hello: "cli" });
  });
  try {
    const env = { ...cfg.env, SESSIONKIT_PASSWORD: "rt-pass" };
    const [asked, sent, denied] = await Promise.all([
      cli(["realtime", url, "--principal", "ops", "--request", "double 21"], { env }),
      cli(["realtime", url, "--send", 'note {"a":1}'], { env: cfg.env }),
      cli(["realtime", url, "--principal", "ops", "--send", "note 1"], { env: { ...cfg.env, SESSIONKIT_PASSWORD: "wrong" } }),
    ]);
    assert.equal(asked.status, 0, asked.stderr);
    assert.equal(asked.stdout, "double 42\n");
    assert.match(asked.stderr, /# state CONNECTED_ACTIVE/);
    assert.equal(sent.status, 0, sent.stderr);
    assert.deepEqual(notes, [{ a: 1 }]);
    assert.equal(denied.status, 1);
    assert.match(denied.stderr, /sessionkit: error: ACCESS_DENIED: [^\n]+\n$/);
    assert.ok(!denied.stderr.includes("wrong"));

    const lines = await cli(["realtime", url, "--on", "news"], { env: cfg.env, input: 'note "go"\n?double 5\nnot json here {\n' });
    assert.equal(lines.status, 0, lines.stderr);
    assert.equal(lines.stdout, 'news {"hello":"cli"}\ndouble 10\n');
    assert.match(lines.stderr, /# not JSON after not/);
    assert.match(lines.stderr, /# state CLOSED_BY_CLIENT/);
  } finally {
    await server.close();
  }
});

test("realtime: a dropped connection is shown as it recovers, and a message typed meanwhile arrives", async () => {
  using cfg = tempConfig();
  const server = new RealtimeServer({ pingPeriod: 1000, keepAlive: 10_000 });
  const url = new URL(await server.listen(0));
  const relay = await startRelay(Number(url.port));
  const notes: unknown[] = [];
  server.addHandler("note", (value) => void notes.push(value));
  const child = spawn(process.execPath, [...(await cliEntry()), "realtime", `ws://127.0.0.1:${relay.port}${url.pathname}`], {
    env: { ...process.env, ...cfg.env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.on("close", r));
  try {
    await waitFor(() => stderr.includes("# connected as"), "the connection", 60_000);
    relay.cut();
    await waitFor(() => stderr.includes("# state RECOVERING_RECONNECT"), "recovering", 30_000);
    child.stdin.write("note 7\n");
    await waitFor(() => stderr.includes("# recovered"), "recovery", 30_000);
    child.stdin.end();
    assert.equal(await exited, 0, stderr);
    assert.deepEqual(notes, [7]);
    assert.match(stderr, /# state CONNECTED_ACTIVE\n[^]*# state RECOVERING_RECONNECT\n[^]*# state CONNECTED_ACTIVE\n[^]*# recovered/);
  } finally {
    child.kill();
    await relay.close();
    await server.close();
  }
});
