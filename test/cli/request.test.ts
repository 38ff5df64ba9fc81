/**
 * `sessionkit [METHOD] URL [ITEM ...]` as a child process against loopback servers: every
 * item type, the method rule, piped output, --check-status, -v redaction, --offline,
 * downloads, errors as one line, auth types, TLS (--verify, --cert/--key) and --proxy.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { join } from "node:path";
import { test } from "node:test";
import { gzipSync } from "node:zlib";
import { tlsFixture } from "../helpers/tls.js";
import { cli, startServer, tempConfig } from "./helpers.js";

test("items: headers, query, JSON fields and raw JSON; POST by default with a body; piped stdout is the raw body", async () => {
  using cfg = tempConfig();
  const reply = Buffer.from('{"exact":  "bytes"}\n');
  await using srv = await startServer((_req, res) => {
    res.writeHead(201, { "content-type": "application/json" });
    res.end(reply);
  });
  const r = await cli([`${srv.url}/things`, "X-Trace:abc", "q==1", "q==two words", "name=Ann", "age:=42", 'tags:=["a","b"]', "a\\:b=c"], {
    env: cfg.env,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdoutBytes, reply, "piped: only the body, byte for byte");
  assert.equal(r.stderr, "");
  const seen = srv.seen[0];
  assert.equal(seen.method, "POST");
  assert.equal(seen.url, "/things?q=1&q=two+words");
  assert.equal(seen.headers["x-trace"], "abc");
  assert.equal(seen.headers["content-type"], "application/json");
  assert.deepEqual(JSON.parse(seen.body.toString()), { name: "Ann", age: 42, tags: ["a", "b"], "a:b": "c" });
});

test("items: --form, field=@file, field@file upload (multipart), GET without a body, explicit method, Header: drops a default", async () => {
  using cfg = tempConfig();
  await using srv = await startServer();
  const file = join(cfg.dir, "notes.txt");
  writeFileSync(file, "file body\n");
  let r = await cli([`${srv.url}/form`, "--form", "a=1", `b=@${file}`], { env: cfg.env });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(srv.seen[0].headers["content-type"], "application/x-www-form-urlencoded; charset=utf-8");
  assert.equal(srv.seen[0].body.toString(), "a=1&b=file+body%0A");

  r = await cli([`${srv.url}/up`, "kind=note", `doc@${file}`], { env: cfg.env });
  assert.equal(r.status, 0, r.stderr);
  const up = srv.seen[1];
  assert.equal(up.method, "POST");
  assert.match(String(up.headers["content-type"]), /^multipart\/form-data; boundary=/);
  assert.match(up.body.toString(), /name="doc"; filename="notes.txt"\r\nContent-Type: text\/plain\r\n\r\nfile body\n/);
  assert.match(up.body.toString(), /name="kind"\r\n\r\nnote\r\n/);

  r = await cli([srv.url.replace("http://", ""), "Accept:"], { env: cfg.env });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(srv.seen[2].method, "GET");
  assert.equal(srv.seen[2].headers.accept, undefined, "Header: drops the default Accept");

  r = await cli(["delete", `${srv.url}/x`, "Empty;"], { env: cfg.env });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(srv.seen[3].method, "DELETE");
  assert.equal(srv.seen[3].headers.empty, "");
});

test("--check-status: exit 4 and 5 with a warning when piped, 3 for an unfollowed redirect, 0 when followed", async () => {
  using cfg = tempConfig();
  await using srv = await startServer((req, res) => {
    const code = Number(req.url!.slice(1).split("?")[0]) || 200;
    if (code === 302) res.writeHead(302, { location: "/200" }).end();
    else res.writeHead(code, { "content-type": "text/plain" }).end(`status ${code}`);
  });
  const run = (path: string, ...extra: string[]) => cli([`${srv.url}${path}`, "--check-status", ...extra], { env: cfg.env });
  const [r404, r500, r302, followed, plain404] = await Promise.all([
    run("/404"),
    run("/500"),
    run("/302", "--no-follow"),
    run("/302"),
    cli([`${srv.url}/404`], { env: cfg.env }),
  ]);
  assert.equal(r404.status, 4);
  assert.equal(r404.stdout, "status 404");
  assert.equal(r404.stderr, "sessionkit: warning: HTTP 404 Not Found\n");
  assert.equal(r500.status, 5);
  assert.equal(r302.status, 3);
  assert.equal(followed.status, 0, followed.stderr);
  assert.equal(followed.stdout, "status 200");
  assert.equal(plain404.status, 0, "without --check-status an HTTP error is not a failure");
});

test("-v prints the request and response with Authorization and cookies redacted; --show-secrets shows them", async () => {
  using cfg = tempConfig();
  await using srv = await startServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json", "set-cookie": "sid=s3cr3t-cookie; Path=/" });
    res.end('{"ok":true}');
  });
  const r = await cli([srv.url, "-v", "-a", "bob:hunter2-pass", "Cookie:own=c00kie"], { env: cfg.env });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^GET \/ HTTP\/1\.1\nHost: 127\.0\.0\.1:\d+\n/);
  assert.match(r.stdout, /Authorization: Basic \[REDACTED\]/);
  assert.match(r.stdout, /Cookie: own=\[REDACTED\]/);
  assert.match(r.stdout, /HTTP\/1\.1 200 OK\n/);
  assert.match(r.stdout, /set-cookie: sid=\[REDACTED\]; Path=\//);
  assert.match(r.stdout, /\{"ok":true\}\n$/);
  for (const secret of ["hunter2", Buffer.from("bob:hunter2-pass").toString("base64"), "s3cr3t", "c00kie"])
    assert.ok(!r.stdout.includes(secret), secret);
  assert.equal(srv.seen[0].headers.authorization, `Basic ${Buffer.from("bob:hunter2-pass").toString("base64")}`);

  const shown = await cli([srv.url, "--print=Hh", "-a", "bob:hunter2-pass", "--show-secrets"], { env: cfg.env });
  assert.match(shown.stdout, new RegExp(`Authorization: Basic ${Buffer.from("bob:hunter2-pass").toString("base64")}`));
  assert.match(shown.stdout, /set-cookie: sid=s3cr3t-cookie/);
  assert.doesNotMatch(shown.stdout, /"ok"/, "--print=Hh prints no body");
});

test("--offline prints the request and sends nothing", async () => {
  using cfg = tempConfig();
  await using srv = await startServer();
  const r = await cli(["PUT", `${srv.url}/doc`, "title=x", "n==1", "--offline"], { env: cfg.env });
  assert.equal(r.status, 0, r.stderr);
  assert.match(
    r.stdout,
    /^PUT \/doc\?n=1 HTTP\/1\.1\nHost: 127\.0\.0\.1:\d+\nContent-Type: application\/json\nContent-Length: 13\n\n\{\n {4}"title": "x"\n\}\n$/,
  );
  assert.equal(srv.seen.length, 0);
});

test("-o downloads the decoded body into a file, streamed; nothing on stdout", async () => {
  using cfg = tempConfig();
  const data = Buffer.alloc(300_000, "sessionkit ");
  await using srv = await startServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/octet-stream", "content-encoding": "gzip" });
    res.end(gzipSync(data));
  });
  const file = join(cfg.dir, "out.bin");
  const r = await cli([`${srv.url}/big`, "-o", file], { env: cfg.env });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, "");
  assert.deepEqual(readFileSync(file), data);
});

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

test("auth: bearer sent up front; the password of --auth USER comes from SESSIONKIT_PASSWORD; digest answers a challenge", async () => {
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
