/**
 * The renewal rules (coordinators/shared-renewal.ts) over every backend, with two
 * "processes" (two SharedRenewal objects on two handles of one backend) and a counting
 * renew function in place of the network: one renewal per expiry, adoption of a sibling's
 * state, the session ending for everyone, a dead holder, a slow holder that keeps its lease,
 * a lost compare-and-set, and the shared rate-limit gate.
 */
import assert from "node:assert/strict";
import { after, afterEach, describe, it } from "node:test";
import { MessageHeaders } from "../../src/http/headers.js";
import type { CredentialCoordinator } from "../../src/login/coordinator.js";
import { SharedLoginGate } from "../../src/login/coordinators/shared-gate.js";
import { SharedRenewal, type StateCodec } from "../../src/login/coordinators/shared-renewal.js";
import { RateLimitedError, SessionExpiredError } from "../../src/login/errors.js";
import { backends, tmpDir } from "./helpers/fleet-backends.js";

const tmp = tmpDir();
after(tmp.cleanup);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** States are plain strings here: "s0", "s1", …; the codec marks them so a mix-up shows. */
const codec: StateCodec<string> = { encode: (s) => `enc:${s}`, decode: (v) => v.slice(4) };
const KEY = "acct";

for (const [name, make] of Object.entries(backends(() => tmp.dir))) {
  describe(`shared renewal: ${name}`, () => {
    let a: CredentialCoordinator;
    let b: CredentialCoordinator;
    afterEach(async () => {
      await a.close();
      if (b !== a) await b.close();
    });
    const open = (leaseMs = 2000) => {
      [a, b] = make();
      return [
        new SharedRenewal({ coordinator: a, key: KEY, leaseMs }, codec),
        new SharedRenewal({ coordinator: b, key: KEY, leaseMs }, codec),
      ] as const;
    };

    it("two processes renewing the same state at once make one renewal; the other adopts it", async () => {
      const [pa, pb] = open();
      let calls = 0;
      const renew = async (s: string) => {
        calls++;
        await sleep(50);
        return `${s}-next`;
      };
      const [ra, rb] = await Promise.all([pa.renew("s0", renew), pb.renew("s0", renew)]);
      assert.equal(calls, 1);
      const kinds = [ra.kind, rb.kind].sort();
      assert.deepEqual(kinds, ["adopted", "renewed"]);
      assert.equal(ra.state, "s0-next");
      assert.equal(rb.state, "s0-next");
      assert.equal((await a.read(KEY))?.value, "enc:s0-next");
      // The next expiry: again exactly one renewal.
      const [r2a, r2b] = await Promise.all([pa.renew("s0-next", renew), pb.renew("s0-next", renew)]);
      assert.equal(calls, 2);
      assert.equal(r2a.state, "s0-next-next");
      assert.equal(r2b.state, "s0-next-next");
    });

    it("a process still holding an old state (e.g. imported from an old saved string) adopts the shared one without renewing", async () => {
      const [pa, pb] = open();
      await pa.renew("s0", async () => "s1");
      const r = await pb.renew("s0", async () => assert.fail("must not renew"));
      assert.deepEqual(r, { kind: "adopted", state: "s1" });
    });

    it("a refresh refused because a sibling already rotated the token adopts the sibling's tokens", async () => {
      const [pa, pb] = open();
      await a.write(KEY, 0, codec.encode("s0"));
      // Inside the renewal, a sibling whose lease had lapsed writes s1 and spends the token.
      const r = await pa.renew("s0", async () => {
        await b.write(KEY, 1, codec.encode("s1"));
        throw new SessionExpiredError();
      });
      assert.deepEqual(r, { kind: "adopted", state: "s1" });
      void pb;
    });

    it("a refresh refused with no newer session ends it for everyone: siblings go to EXPIRED without trying", async () => {
      const [pa, pb] = open();
      await assert.rejects(
        pa.renew("s0", async () => {
          throw new SessionExpiredError();
        }),
        SessionExpiredError,
      );
      const shared = await b.read(KEY);
      assert.equal(shared?.value, null);
      const r = await pb.renew("s0", async () => assert.fail("must not try a dead token"));
      assert.deepEqual(r, { kind: "adopted", state: null });
    });

    it("other failures (network, rate limit) are thrown and leave the shared state alone", async () => {
      const [pa] = open();
      await assert.rejects(
        pa.renew("s0", async () => {
          throw new RateLimitedError(1000, "refresh");
        }),
        RateLimitedError,
      );
      assert.equal(await a.read(KEY), null);
      assert.ok(await b.acquire(KEY, 1000), "the lock was released");
    });

    it("a dead holder (lock never released) blocks the others only until its lease ends", async () => {
      const [, pb] = open(300);
      const dead = await a.acquire(KEY, 300);
      assert.ok(dead);
      let calls = 0;
      const r = await pb.renew("s0", async () => {
        calls++;
        return "s1";
      });
      assert.deepEqual(r, { kind: "renewed", state: "s1" });
      assert.equal(calls, 1);
    });

    it("a slow holder keeps its lease while it renews (heartbeat), so nobody renews twice", async () => {
      const [pa, pb] = open(150);
      let calls = 0;
      const slow = async () => {
        calls++;
        await sleep(600); // four leases
        return "s1";
      };
      const first = pa.renew("s0", slow);
      await sleep(30);
      const second = pb.renew("s0", slow);
      const [ra, rb] = await Promise.all([first, second]);
      assert.equal(calls, 1);
      assert.deepEqual([ra.kind, rb.kind].sort(), ["adopted", "renewed"]);
      assert.equal(ra.state, "s1");
      assert.equal(rb.state, "s1");
    });

    it("a holder whose compare-and-set loses adopts the winner's state", async () => {
      const [pa] = open();
      const r = await pa.renew("s0", async () => {
        await b.write(KEY, 0, codec.encode("theirs")); // written after the holder's read
        return "mine";
      });
      assert.deepEqual(r, { kind: "adopted", state: "theirs" });
    });

    it("publish (a login, a logout) replaces the shared state whatever its version", async () => {
      const [pa, pb] = open();
      await pa.renew("s0", async () => "s1");
      await pb.publish("fresh-login");
      assert.equal((await a.read(KEY))?.value, "enc:fresh-login");
      await pb.publish(null);
      assert.equal((await a.read(KEY))?.value, null);
    });

    it("a rate limit learnt by one process closes the gate for the others", async () => {
      open();
      const ga = new SharedLoginGate(a, KEY, "refresh");
      const gb = new SharedLoginGate(b, KEY, "refresh");
      const headers = new MessageHeaders();
      headers.set("Retry-After", "30");
      await assert.rejects(
        ga.around(async () => {
          throw ga.observe(429, headers, "refresh") ?? new Error("no 429 seen");
        }),
        RateLimitedError,
      );
      gb.check("refresh"); // not synced yet: open
      await assert.rejects(
        gb.around(async () => gb.check("refresh")),
        (e: unknown) => e instanceof RateLimitedError && e.retryAfterMs > 25_000,
      );
      assert.ok(gb.blockedUntil > Date.now() + 25_000);
    });
  });
}
