/**
 * A fleet of 4 real processes sharing one saved atproto session through a coordinator
 * (SQLite file, real Redis), against the local PDS-like server whose refresh tokens are
 * single-use: 4 × 250 concurrent requests on an expired token make exactly one refresh
 * call and 1,000 successes; the process that refreshed sees REFRESH, the others SYNC; a lock
 * holder killed with SIGKILL mid-refresh blocks the others only until its lease ends.
 */
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { newSpec, tmpDir } from "./helpers/fleet-backends.js";
import { FleetChild, startFleet, type BurstResult, type FleetSetup } from "./helpers/fleet-runner.js";
import { DID, FakePds, HANDLE } from "./helpers/pds-server.js";

const tmp = tmpDir();
const PROCESSES = 4;
const PER_PROCESS = 250;

// Forking a tsx child costs seconds on a busy machine: one pool of processes serves every
// test (each test sets them up afresh on its own saved session and backend).
const placeholder = { backend: null, key: "idle", entryway: "http://127.0.0.1:9", leaseMs: 1000 };
let pool: FleetChild[] = [];
let pds: FakePds | null = null;
let holder: FleetChild | null = null;

before(async () => {
  const p = await new FakePds().start();
  const { accessJwt, refreshJwt } = p.issue();
  pool = await startFleet(PROCESSES, { ...placeholder, sessionString: `${HANDLE}:::${DID}:::${accessJwt}:::${refreshJwt}:::${p.pds}` });
  await p.close();
});
after(async () => {
  await Promise.all(pool.map((c) => c.close()));
  tmp.cleanup();
});
afterEach(async () => {
  await holder?.close();
  holder = null;
  await pds?.close();
  pds = null;
});

async function freshSetup(kind: "sqlite" | "redis", leaseMs: number): Promise<FleetSetup> {
  pds = await new FakePds({ refreshDelay: 20 }).start();
  const { accessJwt, refreshJwt } = pds.issue({ expiredAccess: true });
  const sessionString = `${HANDLE}:::${DID}:::${accessJwt}:::${refreshJwt}:::${pds.pds}`;
  return { backend: newSpec(kind, tmp.dir), key: `bsky:${DID}`, entryway: pds.entryway, sessionString, leaseMs };
}

function summary(results: BurstResult[]): string {
  return JSON.stringify(results.map((r) => ({ ok: r.ok, failed: r.failed, errors: r.errors, events: r.events })));
}

const total = (results: BurstResult[]) => results.reduce((n, r) => n + r.ok, 0);

for (const kind of ["sqlite", "redis"] as const) {
  describe(`credential fleet on ${kind}`, () => {
    it(`${PROCESSES} processes × ${PER_PROCESS} concurrent requests on an expired token: exactly 1 refresh call, ${PROCESSES * PER_PROCESS} successes`, async () => {
      const setup = await freshSetup(kind, 5000);
      await Promise.all(pool.map((c) => c.setup(setup)));
      const p = pds!;
      const results = await Promise.all(pool.map((c) => c.burst(PER_PROCESS)));
      assert.equal(total(results), PROCESSES * PER_PROCESS, summary(results));
      assert.equal(p.refreshAttempts, 1, "one refresh call for the whole fleet");
      assert.equal(p.refreshes, 1);
      assert.equal(p.authorized, PROCESSES * PER_PROCESS);
      assert.equal(p.requests, PROCESSES * PER_PROCESS, "no request went out with the expired token");
      // The process that refreshed is told REFRESH; the others adopted its tokens: SYNC.
      const events = results.map((r) => r.events.join(",")).sort();
      assert.deepEqual(events, ["REFRESH", "SYNC", "SYNC", "SYNC"], summary(results));

      // The server revokes the access tokens before they expire (reactive path): again one
      // refresh for everyone, each request retried at most once.
      p.expireAccessTokens();
      const before = { requests: p.requests, authorized: p.authorized };
      const again = await Promise.all(pool.map((c) => c.burst(PER_PROCESS)));
      assert.equal(total(again), PROCESSES * PER_PROCESS, summary(again));
      assert.equal(p.refreshAttempts, 2, "one more refresh call for the whole fleet");
      assert.equal(p.authorized - before.authorized, PROCESSES * PER_PROCESS);
      assert.ok(p.requests - before.requests <= 2 * PROCESSES * PER_PROCESS);
      assert.equal(again.flatMap((r) => r.events).filter((e) => e === "REFRESH").length, 2, summary(again));
    });

    it("a lock holder killed with SIGKILL mid-refresh blocks the others only until its lease ends", async () => {
      const leaseMs = 1500;
      const setup = await freshSetup(kind, leaseMs);
      const p = pds!;
      const others = pool.slice(1);
      [holder] = await Promise.all([FleetChild.start({ ...setup, hold: true }), ...others.map((c) => c.setup(setup))]);
      const dying = holder;
      void dying.burst(1).catch(() => undefined); // takes the lock, then never answers
      await dying.holding;
      const bursts = Promise.all(others.map((c) => c.burst(PER_PROCESS)));
      // The others wait for the holder (it extends its lease while alive)…
      await new Promise((r) => setTimeout(r, 2 * leaseMs));
      assert.equal(p.refreshAttempts, 0, "nobody refreshed while the holder was alive");
      assert.equal(p.requests, 0, "nobody sent a request with the expired token");
      // …until it dies: then one of them takes the lock once the lease has run out.
      let refreshedAt = 0;
      const probe = setInterval(() => {
        if (refreshedAt === 0 && p.refreshAttempts > 0) refreshedAt = Date.now();
      }, 5);
      const killedAt = Date.now();
      await dying.kill();
      const results = await bursts;
      clearInterval(probe);
      assert.equal(total(results), (PROCESSES - 1) * PER_PROCESS, summary(results));
      assert.equal(p.refreshAttempts, 1);
      // The issue's budget: blocked no longer than the lease (plus polling and a busy machine's lag).
      const waited = refreshedAt - killedAt;
      assert.ok(waited < leaseMs + 1500, `the refresh came ${waited} ms after the kill (lease ${leaseMs} ms)`);
    });
  });
}
