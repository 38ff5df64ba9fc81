/**
 * Refresh: single flight under 1,000 concurrent requests (proactive and reactive, every way
 * a PDS reports an expired token), rotation seen by persistence callbacks, EXPIRED, clock
 * skew, and the one-retry rule.
 */
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { afterEach, describe, it } from "node:test";
import { Message } from "../../src/http/message.js";
import { AtprotoSession, NotLoggedInError, RateLimitedError, SessionExpiredError, type SessionEventName } from "../../src/login/index.js";
import { DID, FakePds, HANDLE, PASSWORD, type PdsOptions } from "./helpers/pds-server.js";

let pds: FakePds;
let s: AtprotoSession;

async function setup(opts: PdsOptions = {}): Promise<void> {
  pds = await new FakePds(opts).start();
  s = new AtprotoSession({ service: pds.entryway, sessionOptions: { proxyResolver: null, maxConnsPerHost: 16 } });
}

afterEach(async () => {
  await s?.close();
  await pds?.close();
});

const N = 1000;
const ping = () => s.get<{ ok: boolean; did: string }>("com.example.ping");

function pythonString(opts: { expiredAccess?: boolean } = {}): string {
  const { accessJwt, refreshJwt } = pds.issue(opts);
  return `${HANDLE}:::${DID}:::${accessJwt}:::${refreshJwt}:::${pds.pds}`;
}

describe("refresh: single flight", () => {
  it(`${N} concurrent requests on an expired access token make exactly one refresh call and all succeed`, async () => {
    await setup({ refreshDelay: 20 });
    const events: SessionEventName[] = [];
    s.onSessionChange((e) => {
      events.push(e);
    });
    await s.login({ sessionString: pythonString({ expiredAccess: true }) });
    const results = await Promise.all(Array.from({ length: N }, ping));
    assert.equal(results.filter((r) => r.ok && r.did === DID).length, N);
    assert.equal(pds.refreshAttempts, 1);
    assert.equal(pds.refreshes, 1);
    assert.equal(pds.authorized, N);
    assert.equal(pds.requests, N, "no request went out with the expired token");
    assert.deepEqual(events, ["IMPORT", "REFRESH"]);
  });

  for (const [style, n] of [
    ["400-body", N],
    ["401-body", 300],
    ["401-header", 300],
  ] as const) {
    it(`${n} concurrent requests that the server answers with ExpiredToken (${style}) share one refresh and are retried once`, async () => {
      await setup({ expiredStyle: style, refreshDelay: 5 });
      await s.login({ identifier: HANDLE, password: PASSWORD });
      pds.expireAccessTokens(); // the client still believes its token is good
      const results = await Promise.all(Array.from({ length: n }, ping));
      assert.equal(results.filter((r) => r.ok).length, n);
      assert.equal(pds.refreshAttempts, 1);
      assert.equal(pds.authorized, n);
      assert.ok(pds.requests <= 2 * n, "each request retried at most once");
    });
  }

  it("header-reported expiry is handled for requests sent straight through the HTTP session", async () => {
    await setup({ expiredStyle: "401-header" });
    await s.login({ identifier: HANDLE, password: PASSWORD });
    pds.expireAccessTokens();
    const msgs = Array.from({ length: 50 }, () => new Message("GET", `${pds.pds}/xrpc/com.example.ping`));
    await Promise.all(msgs.map((m) => s.http.sendAndRead(m)));
    assert.deepEqual([...new Set(msgs.map((m) => m.status))], [200]);
    assert.equal(pds.refreshAttempts, 1);
  });

  it("fetch is retried after a reactive refresh as well", async () => {
    await setup();
    await s.login({ identifier: HANDLE, password: PASSWORD });
    pds.expireAccessTokens();
    const responses = await Promise.all(Array.from({ length: 20 }, () => s.fetch(`${pds.pds}/xrpc/com.example.ping`, { method: "POST", body: "x" })));
    assert.deepEqual([...new Set(responses.map((r) => r.status))], [200]);
    assert.equal(((await responses[0].json()) as { body: string }).body, "x");
    assert.equal(pds.refreshAttempts, 1);
  });

  it("a body that cannot be replayed is not retried: the caller gets the server's answer intact", async () => {
    await setup();
    await s.login({ identifier: HANDLE, password: PASSWORD });
    pds.expireAccessTokens();
    const msg = new Message("POST", `${pds.pds}/xrpc/com.example.upload`);
    msg.setRequestBody("application/octet-stream", Readable.from([Buffer.from("streamed")]));
    const body = await s.send(msg);
    assert.equal(msg.status, 400);
    assert.deepEqual(await body.json(), { error: "ExpiredToken", message: "Token has expired" });
    assert.equal(pds.requests, 1);
    // The next replayable request renews and succeeds.
    assert.equal((await ping()).ok, true);
    assert.equal(pds.refreshAttempts, 1);
  });

  it("a server that keeps saying ExpiredToken gets one retry per request, never a loop", async () => {
    await setup();
    await s.login({ identifier: HANDLE, password: PASSWORD });
    // Every token, including the ones minted by refresh, is reported expired.
    const realMint = pds.mintAccess.bind(pds);
    pds.mintAccess = (o) => {
      const t = realMint(o);
      pds.expireAccessTokens();
      return t;
    };
    pds.expireAccessTokens();
    const msg = new Message("GET", `${pds.pds}/xrpc/com.example.ping`);
    const body = await s.send(msg);
    assert.equal(msg.status, 400);
    assert.equal((await body.json<{ error: string }>()).error, "ExpiredToken");
    assert.equal(pds.requests, 2);
    assert.equal(pds.refreshAttempts, 1);
  });
});

describe("refresh: rotation and persistence", () => {
  it("callbacks see every rotation, are awaited, and a rotated refresh token is never reused", async () => {
    await setup();
    const saved: Array<[SessionEventName, string | null]> = [];
    let latest: string | null = null;
    s.onSessionChange(async (event, change) => {
      // A slow save: the triggering call must not return before it is done.
      await new Promise((r) => setTimeout(r, 15));
      latest = change.sessionString;
      saved.push([event, change.sessionString]);
    });
    await s.login({ identifier: HANDLE, password: PASSWORD });
    assert.equal(latest, s.exportSessionString());
    for (let i = 0; i < 3; i++) {
      await s.refresh();
      assert.equal(latest, s.exportSessionString(), "saved before refresh() returned");
    }
    pds.expireAccessTokens();
    await Promise.all(Array.from({ length: 100 }, ping));
    assert.equal(latest, s.exportSessionString());
    assert.deepEqual(
      saved.map(([e]) => e),
      ["CREATE", "REFRESH", "REFRESH", "REFRESH", "REFRESH"],
    );
    const refreshTokens = saved.map(([, str]) => str!.split(":::")[3]);
    assert.equal(new Set(refreshTokens).size, refreshTokens.length, "each save holds a new refresh token");
    assert.equal(refreshTokens.at(-1), pds.currentRefresh);
    assert.equal(new Set(pds.presentedRefresh).size, pds.presentedRefresh.length, "no refresh token presented twice");
    assert.deepEqual(pds.presentedRefresh, refreshTokens.slice(0, -1));
  });

  it("every event's listener is awaited before the call that caused it returns (or rejects)", async () => {
    await setup();
    const done: SessionEventName[] = [];
    s.onSessionChange(async (event) => {
      await new Promise((r) => setTimeout(r, 15));
      done.push(event);
    });
    const last = () => done.at(-1);
    await s.login({ sessionString: pythonString({ expiredAccess: true }) });
    assert.equal(last(), "IMPORT");
    await ping(); // proactive refresh inside the request
    assert.equal(last(), "REFRESH", "the request waited for the REFRESH save");
    await s.refresh();
    assert.equal(done.length, 3);
    await s.login({ identifier: HANDLE, password: PASSWORD });
    assert.equal(last(), "CREATE");
    pds.refreshRevoked = true;
    pds.expireAccessTokens();
    await assert.rejects(ping(), SessionExpiredError);
    assert.equal(last(), "EXPIRED", "the request rejected only after the EXPIRED listener finished");
    pds.refreshRevoked = false;
    await s.login({ identifier: HANDLE, password: PASSWORD });
    await s.logout();
    assert.equal(last(), "LOGOUT");
    assert.deepEqual(done, ["IMPORT", "REFRESH", "REFRESH", "CREATE", "EXPIRED", "CREATE", "LOGOUT"]);
  });

  it("a failing save makes the triggering call reject (it is not swallowed) but the new tokens stay in use", async () => {
    await setup();
    await s.login({ identifier: HANDLE, password: PASSWORD });
    s.onSessionChange(() => {
      throw new Error("disk full");
    });
    await assert.rejects(s.refresh(), /disk full/);
    assert.equal(s.exportSessionString().split(":::")[3], pds.currentRefresh);
    assert.equal((await ping()).ok, true);
  });

  it("refresh refused by the PDS ends the session: EXPIRED, then SessionExpiredError until a new login", async () => {
    await setup();
    const events: Array<[SessionEventName, string | null]> = [];
    s.onSessionChange((e, c) => {
      events.push([e, c.sessionString]);
    });
    await s.login({ identifier: HANDLE, password: PASSWORD });
    pds.refreshRevoked = true;
    pds.expireAccessTokens();
    const outcomes = await Promise.allSettled(Array.from({ length: 50 }, ping));
    assert.ok(outcomes.every((o) => o.status === "rejected" && o.reason instanceof SessionExpiredError && o.reason.code === "SESSION_EXPIRED"));
    assert.equal(pds.refreshAttempts, 1);
    assert.deepEqual(
      events.map(([e]) => e),
      ["CREATE", "EXPIRED"],
    );
    assert.equal(events[1][1], null);
    assert.equal(s.loggedIn, false);
    await assert.rejects(ping(), SessionExpiredError);
    assert.throws(() => s.exportSessionString(), NotLoggedInError);
    // Logging in again works.
    pds.refreshRevoked = false;
    await s.login({ identifier: HANDLE, password: PASSWORD });
    assert.equal((await ping()).ok, true);
  });

  it("an imported session whose refresh token is past exp is EXPIRED without a network call", async () => {
    await setup({ refreshTtl: -3600 });
    await s.login({ sessionString: pythonString({ expiredAccess: true }) });
    await assert.rejects(ping(), SessionExpiredError);
    assert.equal(pds.refreshAttempts + pds.requests, 0);
  });
});

describe("refresh: rate limits", () => {
  it("a 429 on refresh fails the waiting requests with RateLimitedError and no refresh is tried before Retry-After", async () => {
    await setup({ refreshLimited: true });
    await s.login({ sessionString: pythonString({ expiredAccess: true }) });
    const outcomes = await Promise.allSettled(Array.from({ length: 20 }, ping));
    assert.ok(outcomes.every((o) => o.status === "rejected" && o.reason instanceof RateLimitedError && o.reason.retryAfterMs === 10_000));
    await assert.rejects(ping(), (e: unknown) => e instanceof RateLimitedError && e.retryAfterMs > 0 && e.retryAfterMs <= 10_000);
    assert.equal(pds.refreshAttempts, 1);
    assert.equal(pds.requests, 0, "nothing went out with the expired token");
    assert.equal(s.loggedIn, true, "a rate limit is not an expiry");
  });
});

describe("refresh: clocks", () => {
  it("a server clock hours behind ours does not cause refreshes (exp is read on the server's clock via iat)", async () => {
    await setup({ clockOffset: -3 * 3600 });
    await s.login({ identifier: HANDLE, password: PASSWORD });
    for (let i = 0; i < 20; i++) assert.equal((await ping()).ok, true);
    assert.equal(pds.refreshAttempts, 0);
  });

  it("proactive refresh happens before exp, with the margin", async () => {
    await setup({ accessTtl: 100 });
    s = new AtprotoSession({ service: pds.entryway, sessionOptions: { proxyResolver: null }, refreshMarginMs: 200_000 });
    await s.login({ identifier: HANDLE, password: PASSWORD });
    // Lifetime 100 s, margin 200 s: capped at half the lifetime, so not due yet.
    await ping();
    assert.equal(pds.refreshAttempts, 0);
    await s.close();
    s = new AtprotoSession({ service: pds.entryway, sessionOptions: { proxyResolver: null }, refreshMarginMs: 60_000 });
    await s.login({ sessionString: pythonString() });
    await ping();
    assert.equal(pds.refreshAttempts, 0, "imported token with 100 s left and a 60 s margin is not due");
  });
});
