/**
 * `sessionkit [METHOD] URL [ITEM ...]` as a child process: every item type, the method rule,
 * piped output byte for byte, --offline.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
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
