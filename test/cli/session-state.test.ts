/**
 * Named sessions across commands: HSTS upgrade, Digest without a second 401, and
 * `sessions list|show|rm|export`.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import https from "node:https";
import { join } from "node:path";
import { test } from "node:test";
import { DigestVerifier } from "../features/auth/digest-server.js";
import { tlsFixture } from "../helpers/tls.js";
import { cli, startServer, tempConfig } from "./helpers.js";

const cookieServer = () =>
  startServer((req, res) => {
    const url = new URL(req.url!, "http://x");
    const name = url.searchParams.get("set");
    const headers: Record<string, string> = { "content-type": "text/plain", "cache-control": "no-store" };
    if (name !== null) headers["set-cookie"] = `${name}=${name}-value-secret; Path=/; HttpOnly`;
    res.writeHead(200, headers).end(`cookie: ${req.headers.cookie ?? ""}`);
  });

test("an HSTS host is upgraded to https on the next run", async () => {
  using cfg = tempConfig();
  const pki = tlsFixture();
  const ca = join(cfg.dir, "ca.pem");
  writeFileSync(ca, pki.caCert);
  await using srv = await startServer(
    (req, res) => res.writeHead(200, { "content-type": "text/plain", "strict-transport-security": "max-age=3600" }).end(`tls ${req.url}`),
    (h) => https.createServer({ key: pki.serverKey, cert: pki.serverCert }, h),
  );
  const plain = `http://localhost:${srv.port}/again`;
  const before = await cli([plain, "--session", "h", "--verify", ca], { env: cfg.env });
  assert.notEqual(before.status, 0, "plain http to a TLS port fails before the policy is known");
  const first = await cli([`https://localhost:${srv.port}/first`, "--session", "h", "--verify", ca], { env: cfg.env });
  assert.equal(first.status, 0, first.stderr);
  const second = await cli([plain, "--session", "h", "--verify", ca], { env: cfg.env });
  assert.equal(second.status, 0, second.stderr);
  assert.equal(second.stdout, "tls /again");
  const show = await cli(["sessions", "show", "h", "--json"], { env: cfg.env });
  assert.deepEqual(
    JSON.parse(show.stdout).hsts.map((p: { host: string }) => p.host),
    ["localhost"],
  );
});

test("a Digest login is reused by the next command without a 401", async () => {
  using cfg = tempConfig();
  const verifier = new DigestVerifier({ users: { dora: "digest-pass" } });
  let challenges = 0;
  await using srv = await startServer((req, res, body) => {
    const check = verifier.check(req, body);
    if (!check.ok) {
      challenges++;
      return void res.writeHead(401, { "www-authenticate": verifier.challenges(check.stale) }).end("no");
    }
    res.writeHead(200, { "content-type": "text/plain" }).end(`hello ${check.params.username} nc=${check.params.nc}`);
  });
  const first = await cli([`${srv.url}/a`, "--session", "dg", "-A", "digest", "-a", "dora:digest-pass"], { env: cfg.env });
  assert.equal(first.status, 0, first.stderr);
  assert.equal(first.stdout, "hello dora nc=00000001");
  assert.equal(challenges, 1);
  const second = await cli([`${srv.url}/b`, "--session", "dg"], { env: cfg.env });
  assert.equal(second.stdout, "hello dora nc=00000002");
  const third = await cli([`${srv.url}/c`, "--session", "dg"], { env: cfg.env });
  assert.equal(third.stdout, "hello dora nc=00000003");
  assert.equal(challenges, 1, "no 401 after the first command");
  assert.equal(verifier.accepted[1].nonce, verifier.accepted[0].nonce);
});

test("sessions list, show, export and rm: names and domains, never a secret unless --show-secrets", async () => {
  using cfg = tempConfig();
  await using srv = await cookieServer();
  await cli([`${srv.url}/?set=tok`, "--session", "s1", "-a", "ann:pa55word-x"], { env: cfg.env });
  await cli([`${srv.url}/`, "--session", "s2"], { env: cfg.env });

  const list = await cli(["sessions", "list", "--json"], { env: cfg.env });
  assert.equal(list.status, 0, list.stderr);
  assert.deepEqual(
    JSON.parse(list.stdout).map((s: { name: string; cookies: number; auth: string | null }) => [s.name, s.cookies, s.auth]),
    [
      ["s1", 1, "basic"],
      ["s2", 0, null],
    ],
  );
  const show = await cli(["sessions", "show", "s1"], { env: cfg.env });
  assert.match(show.stdout, /tok=\[REDACTED\] {2}127\.0\.0\.1\//);
  assert.match(show.stdout, /Auth: basic as "ann" for http:\/\/127\.0\.0\.1:\d+, password \[REDACTED\]/);
  const exported = await cli(["sessions", "export", "s1"], { env: cfg.env });
  for (const out of [show.stdout, exported.stdout]) {
    assert.ok(!out.includes("tok-value-secret") && !out.includes("pa55word"), out);
  }
  assert.equal(JSON.parse(exported.stdout).cookies[0].name, "tok");
  const secrets = await cli(["sessions", "export", "s1", "--show-secrets"], { env: cfg.env });
  const doc = JSON.parse(secrets.stdout);
  assert.equal(doc.cookies[0].value, "tok-value-secret");
  assert.equal(doc.auth.password, "pa55word-x");

  const rm = await cli(["sessions", "rm", "s1"], { env: cfg.env });
  assert.equal(rm.status, 0, rm.stderr);
  const gone = await cli(["sessions", "show", "s1"], { env: cfg.env });
  assert.equal(gone.status, 1);
  assert.match(gone.stderr, /SESSION_NOT_FOUND/);
  const bad = await cli(["sessions", "show", "../etc"], { env: cfg.env });
  assert.equal(bad.status, 2);
});
