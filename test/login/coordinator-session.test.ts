/**
 * CredentialSession with `coordination`, in one process: two AtprotoSessions share one saved
 * session through a MemoryCoordinator (the same code path as SQLite and Redis, which the
 * fleet test runs across processes). One refresh for both, REFRESH here and SYNC there;
 * a logout or a new login reaches the other; a 429 on refresh closes the gate for both; a
 * coordinator that is down fails the renewal before any refresh call.
 */
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import {
  ApiKeySession,
  AtprotoSession,
  CoordinatorUnavailableError,
  MemoryCoordinator,
  RateLimitedError,
  SessionExpiredError,
  type SessionEventName,
} from "../../src/login/index.js";
import { API_KEY, FakeAstrometry } from "./helpers/astrometry-server.js";
import { DID, FakePds, HANDLE, PASSWORD, type PdsOptions } from "./helpers/pds-server.js";

let pds: FakePds;
let coordinator: MemoryCoordinator;
let sessions: Array<AtprotoSession | ApiKeySession> = [];

afterEach(async () => {
  for (const s of sessions) await s.close();
  sessions = [];
  await coordinator?.close();
  await pds?.close();
});

async function setup(n: number, opts: PdsOptions = {}): Promise<{ s: AtprotoSession[]; events: SessionEventName[][] }> {
  pds = await new FakePds(opts).start();
  coordinator = new MemoryCoordinator();
  const events: SessionEventName[][] = [];
  const made: AtprotoSession[] = [];
  for (let i = 0; i < n; i++) {
    const s = new AtprotoSession({
      service: pds.entryway,
      sessionOptions: { proxyResolver: null, maxConnsPerHost: 8 },
      coordination: { coordinator, key: `bsky:${DID}` },
    });
    const seen: SessionEventName[] = [];
    s.onSessionChange((e) => {
      seen.push(e);
    });
    sessions.push(s);
    made.push(s);
    events.push(seen);
  }
  return { s: made, events };
}

function saved(expiredAccess = true): string {
  const { accessJwt, refreshJwt } = pds.issue({ expiredAccess });
  return `${HANDLE}:::${DID}:::${accessJwt}:::${refreshJwt}:::${pds.pds}`;
}

const ping = (s: AtprotoSession) => s.get<{ ok: boolean }>("com.example.ping");

describe("CredentialSession with a coordinator", () => {
  it("two sessions on one saved session: one refresh, REFRESH in the one that refreshed, SYNC in the other", async () => {
    const { s, events } = await setup(2, { refreshDelay: 20 });
    const str = saved();
    for (const one of s) await one.login({ sessionString: str });
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => ping(s[i % 2]!)));
    assert.equal(results.filter((r) => r.ok).length, 200);
    assert.equal(pds.refreshAttempts, 1);
    assert.equal(pds.requests, 200, "no request went out with the expired token");
    assert.deepEqual(events.map((e) => e.join(",")).sort(), ["IMPORT,REFRESH", "IMPORT,SYNC"]);
    assert.equal(s[0]!.exportSessionString(), s[1]!.exportSessionString(), "both hold the same tokens");
  });

  it("without a coordinator the second session ends in EXPIRED (the failure this fixes)", async () => {
    pds = await new FakePds({ refreshDelay: 20 }).start();
    const str = saved();
    const alone = [0, 1].map(() => new AtprotoSession({ service: pds.entryway, sessionOptions: { proxyResolver: null } }));
    sessions.push(...alone);
    for (const one of alone) await one.login({ sessionString: str });
    const results = await Promise.allSettled(alone.map((one) => ping(one)));
    assert.equal(results.filter((r) => r.status === "rejected" && r.reason instanceof SessionExpiredError).length, 1);
    coordinator = new MemoryCoordinator();
  });

  it("a logout in one session ends the other at its next renewal, without a refresh call", async () => {
    const { s, events } = await setup(2);
    const str = saved(false);
    for (const one of s) await one.login({ sessionString: str });
    await s[0]!.logout();
    pds.expireAccessTokens(); // the other one's token stops working
    await assert.rejects(ping(s[1]!), SessionExpiredError);
    assert.equal(pds.refreshAttempts, 0);
    assert.deepEqual(events[1], ["IMPORT", "EXPIRED"]);
  });

  it("a new login in one session is adopted by the other (SYNC), which does not spend its old token", async () => {
    const { s, events } = await setup(2);
    const str = saved();
    for (const one of s) await one.login({ sessionString: str });
    await s[0]!.login({ identifier: HANDLE, password: PASSWORD });
    assert.deepEqual(await ping(s[1]!), { ok: true, path: "/xrpc/com.example.ping", did: DID, body: null });
    assert.equal(pds.refreshAttempts, 0);
    assert.deepEqual(events[1], ["IMPORT", "SYNC"]);
    assert.equal(s[0]!.exportSessionString(), s[1]!.exportSessionString());
  });

  it("a 429 on refresh in one session closes the refresh gate for the other", async () => {
    const { s } = await setup(2, { refreshLimited: true });
    const str = saved();
    for (const one of s) await one.login({ sessionString: str });
    await assert.rejects(ping(s[0]!), RateLimitedError);
    assert.equal(pds.refreshAttempts, 1);
    // The other session's own gate never saw the 429: the fleet's gate stops it.
    await assert.rejects(ping(s[1]!), (e: unknown) => e instanceof RateLimitedError && e.retryAfterMs > 5000);
    assert.equal(pds.refreshAttempts, 1, "no second refresh call before the wait is over");
  });

  it("a coordinator that is down fails the renewal with COORDINATOR_UNAVAILABLE before any refresh call", async () => {
    const { s } = await setup(1);
    await s[0]!.login({ sessionString: saved() });
    await coordinator.close();
    await assert.rejects(ping(s[0]!), (e: unknown) => e instanceof CoordinatorUnavailableError && e.code === "COORDINATOR_UNAVAILABLE");
    assert.equal(pds.refreshAttempts, 0);
  });

  it("services that renew by logging in again (API key): one re-login for both, CREATE there and SYNC here", async () => {
    const api = await new FakeAstrometry().start();
    try {
      pds = await new FakePds().start(); // for afterEach
      coordinator = new MemoryCoordinator();
      const both = [0, 1].map(
        () =>
          new ApiKeySession({
            apiKey: API_KEY,
            apiUrl: api.url,
            sessionOptions: { proxyResolver: null },
            coordination: { coordinator, key: "astrometry:me" },
          }),
      );
      sessions.push(...both);
      const events: SessionEventName[][] = both.map((one) => {
        const seen: SessionEventName[] = [];
        one.onSessionChange((e) => {
          seen.push(e);
        });
        return seen;
      });
      await both[0]!.login();
      await both[1]!.login({ sessionString: both[0]!.exportSessionString() });
      api.invalidateSessions();
      const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => both[i % 2]!.call<{ echo: { i: number } }>("jobs", { i })));
      assert.ok(answers.every((a, i) => a.echo.i === i));
      assert.equal(api.loginAttempts, 2, "the first login and one re-login for both");
      assert.deepEqual(events.map((e) => e.join(",")).sort(), ["CREATE,CREATE", "IMPORT,SYNC"]);
    } finally {
      await api.close();
    }
  });

  it("refuses a malformed coordination option when the session is built", () => {
    assert.throws(() => new AtprotoSession({ coordination: { coordinator: {} as MemoryCoordinator, key: "k" } }), /read\(\)/);
    assert.throws(() => new AtprotoSession({ coordination: { coordinator: new MemoryCoordinator(), key: "has space" } }), /coordination\.key/);
    assert.throws(() => new AtprotoSession({ coordination: { coordinator: new MemoryCoordinator(), key: "k", leaseMs: 0 } }), /leaseMs/);
  });
});
