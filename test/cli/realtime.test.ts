/**
 * `sessionkit realtime URL` against a local RealtimeServer: one-shot --send and --request,
 * typed lines with pushes printed as they come, state changes on stderr, refused
 * credentials as one error line.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { RealtimeServer } from "../../src/realtime/index.js";
import { cli, tempConfig } from "./helpers.js";

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
