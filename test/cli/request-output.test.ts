/**
 * Output of a request: --check-status exit statuses, -v and --print with secrets redacted,
 * --show-secrets, downloads with -o.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { gzipSync } from "node:zlib";
import { cli, startServer, tempConfig } from "./helpers.js";

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
