/**
 * Errors as one line with the typed code and exit status, auth types, TLS (--verify,
 * --cert/--key) and --proxy.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { join } from "node:path";
import { test } from "node:test";
import { tlsFixture } from "../helpers/tls.js";
import { cli, cliEntry, startServer, tempConfig } from "./helpers.js";

test("errors are one line with the typed code and a non-zero status: refused connection, usage, timeout, missing password", async () => {
  using cfg = tempConfig();
  const closed = await startServer();
  const port = closed.port;
  await closed.close();
  const hang = http.createServer(() => {});
  await new Promise<void>((r) => hang.listen(0, "127.0.0.1", r));
  const hangPort = (hang.address() as { port: number }).port;
  try {
    const [refused, usage, timedOut, noPassword, badItem] = await Promise.all([
      cli([`http://127.0.0.1:${port}/`], { env: cfg.env }),
      cli(["--bogus", "http://x/"], { env: cfg.env }),
      cli([`http://127.0.0.1:${hangPort}/`, "--timeout", "0.3"], { env: cfg.env }),
      cli([`http://127.0.0.1:${port}/`, "-a", "bob"], { env: cfg.env }),
      cli(["http://127.0.0.1/", "justaword"], { env: cfg.env }),
    ]);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /^sessionkit: error: CONNECTION_FAILED: [^\n]+\n$/);
    assert.equal(usage.status, 2);
    assert.equal(usage.stderr, "sessionkit: error: USAGE: unknown option --bogus (see --help)\n");
    assert.equal(timedOut.status, 2);
    assert.match(timedOut.stderr, /^sessionkit: error: TIMEOUT: [^\n]+\n$/);
    assert.equal(noPassword.status, 1);
    assert.match(noPassword.stderr, /^sessionkit: error: NO_PASSWORD: .*SESSIONKIT_PASSWORD\n$/);
    assert.equal(badItem.status, 2);
    assert.match(badItem.stderr, /USAGE: not a request item/);
  } finally {
    hang.closeAllConnections();
    hang.close();
  }
});

test("auth: bearer sent up front; the password of --auth USER comes from SESSIONKIT_PASSWORD", async () => {
  using cfg = tempConfig();
  await using srv = await startServer();
  const [bearer, envPass] = await Promise.all([
    cli([srv.url, "-A", "bearer", "-a", "tok.en-123"], { env: cfg.env }),
    cli([`${srv.url}/env`, "-a", "carol"], { env: { ...cfg.env, SESSIONKIT_PASSWORD: "from-env" } }),
  ]);
  assert.equal(bearer.status, 0, bearer.stderr);
  assert.equal(envPass.status, 0, envPass.stderr);
  const byUrl = new Map(srv.seen.map((s) => [s.url, s]));
  assert.equal(byUrl.get("/")!.headers.authorization, "Bearer tok.en-123");
  assert.equal(byUrl.get("/env")!.headers.authorization, `Basic ${Buffer.from("carol:from-env").toString("base64")}`);
});

test("TLS: --verify trusts a CA file, --cert/--key give a client certificate; without --verify the server is refused", async () => {
  using cfg = tempConfig();
  const pki = tlsFixture();
  const files = Object.fromEntries(
    (["caCert", "clientCert", "clientKey"] as const).map((k) => {
      const f = join(cfg.dir, `${k}.pem`);
      writeFileSync(f, pki[k]);
      return [k, f];
    }),
  );
  await using srv = await startServer(
    (req, res) => {
      const peer = (req.socket as import("node:tls").TLSSocket).getPeerCertificate();
      res.writeHead(200, { "content-type": "text/plain" }).end(`client=${peer?.subject?.CN ?? "none"}`);
    },
    (h) => https.createServer({ key: pki.serverKey, cert: pki.serverCert, ca: pki.caCert, requestCert: true, rejectUnauthorized: false }, h),
  );
  const url = srv.url.replace("http:", "https:");
  const [trusted, mutual, untrusted] = await Promise.all([
    cli([url, "--verify", files.caCert], { env: cfg.env }),
    cli([url, "--verify", files.caCert, "--cert", files.clientCert, "--key", files.clientKey], { env: cfg.env }),
    cli([url], { env: cfg.env }),
  ]);
  assert.equal(trusted.status, 0, trusted.stderr);
  assert.equal(trusted.stdout, "client=none");
  assert.equal(mutual.status, 0, mutual.stderr);
  assert.equal(mutual.stdout, "client=sessionkit client");
  assert.equal(untrusted.status, 1);
  assert.match(untrusted.stderr, /^sessionkit: error: TLS_FAILED: /);
});

test("--proxy sends the request through the proxy", async () => {
  using cfg = tempConfig();
  await using proxy = await startServer((req, res) => res.writeHead(200, { "content-type": "text/plain" }).end(`proxied ${req.url}`));
  const r = await cli(["http://origin.invalid/path?x=1", "--proxy", proxy.url], { env: cfg.env });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, "proxied http://origin.invalid/path?x=1");
});

test("Ctrl-C while the body streams: exit 130 with one INTERRUPTED line", async () => {
  using cfg = tempConfig();
  let seen!: () => void;
  const started = new Promise<void>((r) => (seen = r));
  const srv = http.createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/plain" });
    res.write("partial ");
    seen();
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  try {
    const child = spawn(process.execPath, [...(await cliEntry()), `http://127.0.0.1:${(srv.address() as { port: number }).port}/`], {
      env: { ...process.env, ...cfg.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on("close", r));
    await started;
    await new Promise((r) => setTimeout(r, 200));
    child.kill("SIGINT");
    assert.equal(await exited, 130);
    assert.equal(stderr, "sessionkit: error: INTERRUPTED: interrupted\n");
  } finally {
    srv.closeAllConnections();
    srv.close();
  }
});
