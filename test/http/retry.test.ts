/**
 * The retry option and the diagnostics channels, on real sockets.
 */
import assert from "node:assert/strict";
import diagnostics from "node:diagnostics_channel";
import net from "node:net";
import { describe, it } from "node:test";
import { RetryAfterTooLongError } from "../../src/http/retry.js";
import { Message } from "../../src/http/message.js";
import { newSession, rejectsWithCode, startServer, text } from "./helpers.js";

const fast = { backoffBase: 5, backoffCap: 20 };

/** A server that answers `failures` times with `status` (and `headers`), then 200 "ok". */
function flaky(failures: number, status = 503, headers: Record<string, string> = {}) {
  let n = 0;
  return startServer((_req, res) => {
    if (n++ < failures) {
      res.writeHead(status, headers);
      res.end("try later");
    } else res.end("ok");
  });
}

describe("retry", () => {
  it("is off by default: a 503 goes to the caller", async () => {
    const srv = await flaky(1);
    const s = newSession();
    const msg = new Message("GET", srv.url);
    assert.equal(text(await s.sendAndRead(msg)), "try later");
    assert.equal(msg.status, 503);
    assert.equal(srv.requests.length, 1);
  });

  it("retries a 503 with backoff, emits restarted('retry') per retry, counts attempts", async () => {
    const srv = await flaky(2);
    const s = newSession({ retry: { limit: 3, ...fast } });
    const msg = new Message("GET", srv.url);
    const reasons: string[] = [];
    msg.on("restarted", (r) => reasons.push(r));
    assert.equal(text(await s.sendAndRead(msg)), "ok");
    assert.deepEqual(reasons, ["retry", "retry"]);
    assert.equal(msg.retryCount, 2);
    assert.equal(srv.requests.length, 3);
  });

  it("stops at the limit and hands over the last answer", async () => {
    const srv = await flaky(10);
    const s = newSession({ retry: { limit: 2, ...fast } });
    const msg = new Message("GET", srv.url);
    assert.equal(text(await s.sendAndRead(msg)), "try later");
    assert.equal(srv.requests.length, 3);
  });

  it("does not retry POST by default, nor a stream body ever; a message's own retry wins", async () => {
    const srv = await flaky(1);
    const s = newSession({ retry: { limit: 2, ...fast } });
    const post = new Message("POST", srv.url);
    post.setRequestBody("text/plain", "x");
    await s.sendAndRead(post);
    assert.equal(post.status, 503);
    const srv2 = await flaky(1);
    const put = new Message("PUT", srv2.url);
    put.setRequestBody(
      "text/plain",
      (async function* () {
        yield new TextEncoder().encode("stream");
      })(),
    );
    await s.sendAndRead(put);
    assert.equal(put.status, 503);
    assert.equal(srv2.requests.length, 1);
    const srv3 = await flaky(1);
    const own = new Message("POST", srv3.url);
    own.retry = { limit: 1, methods: ["POST"], ...fast };
    own.setRequestBody("text/plain", "x");
    assert.equal(text(await s.sendAndRead(own)), "ok");
  });

  it("honours Retry-After in seconds and as an HTTP date", async () => {
    const srv = await flaky(1, 429, { "retry-after": "1" });
    const s = newSession({ retry: { limit: 1, ...fast } });
    const t0 = Date.now();
    assert.equal(text(await s.sendAndRead(new Message("GET", srv.url))), "ok");
    assert.ok(Date.now() - t0 >= 900, "waited about a second");
    const soon = new Date(Date.now() + 1500).toUTCString();
    const srv2 = await flaky(1, 503, { "retry-after": soon });
    const t1 = Date.now();
    assert.equal(text(await s.sendAndRead(new Message("GET", srv2.url))), "ok");
    assert.ok(Date.now() - t1 >= 300);
  });

  it("honours RateLimit-Reset", async () => {
    const srv = await flaky(1, 429, { "ratelimit-remaining": "0", "ratelimit-reset": "1" });
    const s = newSession({ retry: { limit: 1, ...fast } });
    const t0 = Date.now();
    assert.equal(text(await s.sendAndRead(new Message("GET", srv.url))), "ok");
    assert.ok(Date.now() - t0 >= 900);
  });

  it("a wait longer than maxRetryAfter is a typed error that says how long the server asked", async () => {
    const srv = await flaky(1, 503, { "retry-after": "3600" });
    const s = newSession({ retry: { limit: 1, maxRetryAfter: 5000 } });
    const err = await rejectsWithCode(s.sendAndRead(new Message("GET", srv.url)), "RETRY_AFTER_TOO_LONG");
    assert.ok(err instanceof RetryAfterTooLongError);
    assert.equal(err.retryAfter, 3_600_000);
    assert.match(err.message, /3600 s/);
  });

  it("an AbortSignal cancels a retry wait at once", async () => {
    const srv = await flaky(5, 503, { "retry-after": "30" });
    const s = newSession({ retry: { limit: 3 } });
    const ac = new AbortController();
    const t0 = Date.now();
    setTimeout(() => ac.abort(), 100);
    await rejectsWithCode(s.sendAndRead(new Message("GET", srv.url), { signal: ac.signal }), "ABORTED");
    assert.ok(Date.now() - t0 < 3000);
  });

  it("session.abort() cancels a retry wait too", async () => {
    const srv = await flaky(5, 503, { "retry-after": "30" });
    const s = newSession({ retry: { limit: 3 } });
    const p = s.sendAndRead(new Message("GET", srv.url));
    setTimeout(() => s.abort(), 100);
    await rejectsWithCode(p, "ABORTED");
  });

  it("retries network errors (a connection refused, then a server that comes up)", async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const s = newSession({ retry: { limit: 100, backoffBase: 40, backoffCap: 40 } });
    let late: net.Server | null = null;
    const sockets = new Set<net.Socket>();
    // Full jitter may draw short waits: with up to 100 retries of up to 40 ms the session keeps
    // trying for seconds on average, far past the 150 ms the server takes to come up.
    const upLater = setTimeout(() => {
      late = net.createServer((sock) => {
        sockets.add(sock);
        sock.end("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
      });
      late.listen(port, "127.0.0.1");
    }, 150);
    try {
      const msg = new Message("GET", `http://127.0.0.1:${port}/`);
      assert.equal(text(await s.sendAndRead(msg)), "ok");
      assert.ok(msg.retryCount >= 1);
    } finally {
      clearTimeout(upLater);
      for (const sock of sockets) sock.destroy();
      await new Promise((r) => (late ? late.close(r) : r(undefined)));
    }
  });

  it("rejects invalid options with a clear error", () => {
    assert.throws(() => newSession({ retry: { limit: -1 } }), /retry.limit/);
    assert.throws(() => newSession({ retry: { backoffBase: Number.NaN } }), /retry.backoffBase/);
  });
});

describe("diagnostics_channel", () => {
  it("publishes queued, send (per attempt), restarted, headers and done for a message", async () => {
    const srv = await flaky(1);
    const s = newSession({ retry: { limit: 1, ...fast } });
    const seen: string[] = [];
    const subs = ["queued", "send", "restarted", "headers", "done", "error"].map((name) => {
      const fn = (d: unknown) => {
        const p = d as { message: Message; attempt?: number; reason?: string };
        if (p.message.url.href.startsWith(srv.url)) seen.push(`${name}${p.attempt ?? ""}${p.reason ? `:${p.reason}` : ""}`);
      };
      diagnostics.subscribe(`sessionkit:message:${name}`, fn);
      return () => diagnostics.unsubscribe(`sessionkit:message:${name}`, fn);
    });
    try {
      await s.sendAndRead(new Message("GET", srv.url));
    } finally {
      for (const u of subs) u();
    }
    assert.deepEqual(seen, ["queued", "send1", "restarted:retry", "send2", "headers", "done"]);
  });

  it("publishes error for a failed message", async () => {
    const s = newSession();
    const errors: string[] = [];
    const fn = (d: unknown) => errors.push((d as { error: { code: string } }).error.code);
    diagnostics.subscribe("sessionkit:message:error", fn);
    try {
      await rejectsWithCode(s.sendAndRead(new Message("GET", "http://127.0.0.1:1/")), "CONNECTION_FAILED");
    } finally {
      diagnostics.unsubscribe("sessionkit:message:error", fn);
    }
    assert.deepEqual(errors, ["CONNECTION_FAILED"]);
  });
});
