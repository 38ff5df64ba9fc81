/**
 * Named sessions across commands: cookies, read-only use, file modes, two commands at once.
 */
import assert from "node:assert/strict";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { cli, startServer, tempConfig } from "./helpers.js";

const cookieServer = () =>
  startServer((req, res) => {
    const url = new URL(req.url!, "http://x");
    const name = url.searchParams.get("set");
    const headers: Record<string, string> = { "content-type": "text/plain", "cache-control": "no-store" };
    if (name !== null) headers["set-cookie"] = `${name}=${name}-value-secret; Path=/; HttpOnly`;
    res.writeHead(200, headers).end(`cookie: ${req.headers.cookie ?? ""}`);
  });

test("a cookie set by one command is sent by the next; the session directory is 0700 and its files 0600", async () => {
  using cfg = tempConfig();
  await using srv = await cookieServer();
  const first = await cli([`${srv.url}/login?set=sid`, "--session", "web"], { env: cfg.env });
  assert.equal(first.status, 0, first.stderr);
  assert.equal(first.stdout, "cookie: ");
  const second = await cli([`${srv.url}/me`, "--session", "web"], { env: cfg.env });
  assert.equal(second.stdout, "cookie: sid=sid-value-secret");
  const other = await cli([`${srv.url}/me`, "--session", "other"], { env: cfg.env });
  assert.equal(other.stdout, "cookie: ", "sessions do not share cookies");

  const dir = join(cfg.dir, "sessionkit", "sessions", "web");
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.equal(statSync(join(cfg.dir, "sessionkit")).mode & 0o077, 0);
  for (const f of readdirSync(dir)) assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, f);
});

test("--session-read-only sends the session's cookies and keeps new ones out of it", async () => {
  using cfg = tempConfig();
  await using srv = await cookieServer();
  await cli([`${srv.url}/?set=a`, "--session", "ro"], { env: cfg.env });
  const r = await cli([`${srv.url}/?set=b`, "--session-read-only", "ro"], { env: cfg.env });
  assert.equal(r.stdout, "cookie: a=a-value-secret");
  const after = await cli([`${srv.url}/`, "--session", "ro"], { env: cfg.env });
  assert.equal(after.stdout, "cookie: a=a-value-secret");
  const missing = await cli([`${srv.url}/`, "--session-read-only", "nope"], { env: cfg.env });
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /^sessionkit: error: SESSION_NOT_FOUND: /);
});

test("two commands on one session at once: both finish and both cookies are kept", async () => {
  using cfg = tempConfig();
  await using srv = await cookieServer();
  const runs = await Promise.all(["p", "q", "r"].map((n) => cli([`${srv.url}/?set=${n}`, "--session", "shared"], { env: cfg.env })));
  for (const r of runs) assert.equal(r.status, 0, r.stderr);
  const after = await cli([`${srv.url}/`, "--session", "shared"], { env: cfg.env });
  assert.deepEqual(after.stdout.replace("cookie: ", "").split("; ").sort(), ["p=p-value-secret", "q=q-value-secret", "r=r-value-secret"]);
});
