/**
 * The Replayer's matching rules (order of consumption, body matching, dates, redacted URLs),
 * the Recorder's options, and a credential session (atproto) recorded against the fake PDS
 * and replayed with the PDS stopped.
 */
import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { Cache, HarFormatError, Message, Recorder, Replayer, ReplayNoMatchError, Session, type Har } from "../../../src/index.js";
import { AtprotoSession } from "../../../src/login/index.js";
import { DID, FakePds, HANDLE, PASSWORD } from "../../login/helpers/pds-server.js";

let server: http.Server;
let base = "";
let dir = "";
let n = 0;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "sessionkit-replay-"));
  server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      res.setHeader("Date", new Date().toUTCString());
      if (req.url === "/go") {
        res.statusCode = 302;
        res.setHeader("Location", "/landing?access_token=oauth-secret");
        return res.end();
      }
      if (req.url === "/fresh") res.setHeader("Cache-Control", "max-age=60");
      if (req.url === "/etag") {
        res.setHeader("Cache-Control", "no-cache");
        res.setHeader("ETag", '"e1"');
        if (req.headers["if-none-match"] === '"e1"') {
          res.statusCode = 304;
          return res.end();
        }
      }
      res.end(req.method === "POST" ? `echo:${body}` : `v${++n}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  n = 0;
});

async function text(session: Session, method: string, path: string, body?: string | Readable): Promise<string> {
  const msg = new Message(method, `${base}${path}`);
  if (body !== undefined) msg.setRequestBody("text/plain", body as string);
  return Buffer.from(await session.sendAndRead(msg)).toString();
}

/** Records `run` against the live server and returns the HAR. */
async function record(run: (s: Session) => Promise<void>, options: ConstructorParameters<typeof Recorder>[0] = {}): Promise<Har> {
  const recorder = new Recorder(options);
  await using s = new Session({ features: [recorder], proxyResolver: null });
  await run(s);
  return recorder.toHar();
}

describe("Replayer matching", () => {
  it("repeated requests get the recorded answers in order, then REPLAY_NO_MATCH", async () => {
    const har = await record(async (s) => {
      for (let i = 0; i < 3; i++) await text(s, "GET", "/counter");
    });
    await using s = new Session({ features: [new Replayer({ har })] });
    assert.deepEqual([await text(s, "GET", "/counter"), await text(s, "GET", "/counter"), await text(s, "GET", "/counter")], ["v1", "v2", "v3"]);
    await assert.rejects(text(s, "GET", "/counter"), (e: unknown) => {
      assert.ok(e instanceof ReplayNoMatchError);
      assert.equal(e.code, "REPLAY_NO_MATCH");
      assert.equal(e.method, "GET");
      assert.match(e.message, /all 3 recorded for it were used/);
      return true;
    });
    await assert.rejects(text(s, "DELETE", "/counter"), /nothing recorded for this method and URL/);
  });

  it("matchBody picks the entry with the same body; without it, file order", async () => {
    const har = await record(async (s) => {
      await text(s, "POST", "/echo", "first");
      await text(s, "POST", "/echo", "second");
    });
    {
      await using s = new Session({ features: [new Replayer({ har, matchBody: true })] });
      assert.equal(await text(s, "POST", "/echo", "second"), "echo:second");
      assert.equal(await text(s, "POST", "/echo", "first"), "echo:first");
      await assert.rejects(text(s, "POST", "/echo", "third"), (e: unknown) => e instanceof ReplayNoMatchError);
    }
    {
      await using s = new Session({ features: [new Replayer({ har })] });
      assert.equal(await text(s, "POST", "/echo", "second"), "echo:first");
    }
  });

  it("a secret query parameter matches its redacted form in the file", async () => {
    const har = await record((s) => text(s, "GET", "/q?api_key=live-secret&x=1").then(() => undefined));
    assert.equal(har.log.entries[0].request.url, `${base}/q?api_key=[REDACTED]&x=1`);
    await using s = new Session({ features: [new Replayer({ har })] });
    assert.equal(await text(s, "GET", "/q?api_key=another-secret&x=1"), "v1");
  });

  it("a redirect to a URL with a secret is recorded redacted and still replays", async () => {
    const har = await record((s) => text(s, "GET", "/go").then(() => undefined));
    assert.deepEqual(
      har.log.entries.map((e) => [new URL(e.request.url).pathname, e.response.status]),
      [
        ["/go", 302],
        ["/landing", 200],
      ],
    );
    assert.equal(JSON.stringify(har).includes("oauth-secret"), false);
    assert.equal(har.log.entries[0].response.redirectURL, `${base}/landing?access_token=[REDACTED]`);
    await using s = new Session({ features: [new Replayer({ har })] });
    assert.equal(await text(s, "GET", "/go"), "v1");
  });

  it("dates are shifted, so a recorded fresh response is fresh for the cache on replay (shiftDates: false keeps them)", async () => {
    const har = await record((s) => text(s, "GET", "/fresh").then(() => undefined));
    const date = har.log.entries[0].response.headers.find((h) => h.name.toLowerCase() === "date")!;
    date.value = new Date(Date.now() - 3_600_000).toUTCString(); // recorded an hour ago
    for (const shiftDates of [true, false]) {
      await using s = new Session({ features: [new Cache(), new Replayer({ har: structuredClone(har), shiftDates })] });
      assert.equal(await text(s, "GET", "/fresh"), "v1");
      if (shiftDates) assert.equal(await text(s, "GET", "/fresh"), "v1", "a cache hit");
      else await assert.rejects(text(s, "GET", "/fresh"), ReplayNoMatchError, "stale by the old Date: the cache asked again");
    }
  });

  it("a revalidation is recorded as the network's 304 and replays through the cache", async () => {
    const recorder = new Recorder();
    {
      await using s = new Session({ features: [recorder, new Cache()], proxyResolver: null });
      assert.equal(await text(s, "GET", "/etag"), "v1");
      assert.equal(await text(s, "GET", "/etag"), "v1");
    }
    const har = recorder.toHar();
    assert.deepEqual(
      har.log.entries.map((e) => e.response.status),
      [200, 304],
    );
    assert.equal(har.log.entries[1].request.headers.find((h) => h.name === "If-None-Match")?.value, '"e1"');
    const cache = new Cache();
    await using s = new Session({ features: [new Replayer({ har }), cache] });
    assert.equal(await text(s, "GET", "/etag"), "v1");
    const msg = new Message("GET", `${base}/etag`);
    assert.equal(Buffer.from(await s.sendAndRead(msg)).toString(), "v1");
    assert.equal(cache.statusOf(msg), "revalidated");
  });

  it("refuses a file that is not HAR 1.x with HAR_INVALID", () => {
    const bad = join(dir, "bad.har");
    writeFileSync(bad, JSON.stringify({ log: { version: "1.2", entries: [{ request: {} }] } }));
    assert.throws(
      () => new Replayer({ har: bad }),
      (e: unknown) => e instanceof HarFormatError && e.code === "HAR_INVALID",
    );
    assert.throws(() => new Replayer({ har: join(dir, "missing.har") }), HarFormatError);
    assert.throws(() => new Replayer({ har: { log: { version: "2.0", creator: { name: "x", version: "1" }, entries: [] } } }), HarFormatError);
  });
});

describe("Recorder options", () => {
  it("redact: false keeps values; a stream body is marked not captured; save() writes the file", async () => {
    const path = join(dir, "clear.har");
    const recorder = new Recorder({ redact: false });
    {
      await using s = new Session({ features: [recorder], proxyResolver: null });
      const msg = new Message("GET", `${base}/clear?access_token=visible`);
      msg.requestHeaders.set("Authorization", "Bearer visible-token");
      await s.sendAndRead(msg);
      await text(s, "POST", "/echo", Readable.from([Buffer.from("streamed")]));
    }
    await recorder.save(path);
    const har = JSON.parse(readFileSync(path, "utf8")) as Har;
    assert.equal(har.log.entries[0].request.url, `${base}/clear?access_token=visible`);
    assert.equal(har.log.entries[0].request.headers.find((h) => h.name === "Authorization")?.value, "Bearer visible-token");
    assert.equal(har.log.entries[1].request._bodyNotCaptured, true);
    assert.equal(har.log.entries[1].response.content.text, "echo:streamed");
  });

  it("custom secret headers are redacted", async () => {
    const har = await record(
      async (s) => {
        const msg = new Message("GET", `${base}/h`);
        msg.requestHeaders.set("X-Api-Key", "k-123");
        msg.requestHeaders.set("X-Tenant-Secret", "t-456");
        await s.sendAndRead(msg);
      },
      { secretHeaders: ["X-Tenant-Secret"] },
    );
    const text = JSON.stringify(har);
    assert.equal(text.includes("k-123"), false);
    assert.equal(text.includes("t-456"), false);
  });
});

describe("a credential session on top of record and replay", () => {
  it("atproto login and calls recorded against the PDS replay with the PDS stopped", async () => {
    const pds = await new FakePds().start();
    const recorder = new Recorder();
    const live = new Session({ features: [recorder], proxyResolver: null });
    const a = new AtprotoSession({ service: pds.entryway, session: live });
    await a.login({ identifier: HANDLE, password: PASSWORD });
    const answer = await a.get<{ ok: boolean; did: string }>("com.example.ping");
    // The PDS now answers "ExpiredToken" (a 400 with a JSON body): the credential feature
    // reads that body, refreshes and retries; the recording must carry that body.
    pds.expireAccessTokens();
    const afterRefresh = await a.get<{ ok: boolean; did: string }>("com.example.ping");
    assert.equal(pds.refreshes, 1);
    await a.close();
    await live.close();
    await pds.close();
    const har = recorder.toHar();
    assert.equal(JSON.stringify(har).includes(PASSWORD), false, "the password is not in the file");
    const tokens = har.log.entries.flatMap((e) => e.request.headers.filter((h) => h.name.toLowerCase() === "authorization").map((h) => h.value));
    assert.ok(tokens.length > 0 && tokens.every((t) => t === "Bearer [REDACTED]"));

    const offline = new Session({ features: [new Replayer({ har })], proxyResolver: null });
    const b = new AtprotoSession({ service: pds.entryway, session: offline });
    await b.login({ identifier: HANDLE, password: PASSWORD });
    assert.equal(b.did, DID);
    assert.equal(b.pdsEndpoint, pds.pds);
    assert.deepEqual(await b.get<{ ok: boolean; did: string }>("com.example.ping"), answer);
    assert.deepEqual(
      await b.get<{ ok: boolean; did: string }>("com.example.ping"),
      afterRefresh,
      "the replayed ExpiredToken led to a replayed refresh",
    );
    const expired = har.log.entries.find((e) => e.response.status === 400);
    assert.match(expired?.response.content.text ?? "", /ExpiredToken/);
    await b.close();
    await offline.close();
  });
});
