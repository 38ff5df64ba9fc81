/**
 * A locked SQLite file costs the waiting call, not the process (issue 12, item 4). A
 * second process holds `BEGIN IMMEDIATE` on the file while this one writes sessions and
 * measures how long its event loop goes without running a timer. Before the fix the loop
 * was frozen for the whole lock (SQLite's 5 s busy handler sleeping on it).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { SqliteStore } from "../../src/stores/sqlite.js";

const dir = mkdtempSync(join(tmpdir(), "sessionkit-sqlite-lock-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const driver = createRequire(import.meta.url).resolve("better-sqlite3");

/** Another process takes the write lock on `path` and keeps it for `holdMs`. */
async function holdLock(path: string, holdMs: number): Promise<{ released: Promise<void> }> {
  const code = `
    const Database = require(${JSON.stringify(driver)});
    const db = new Database(${JSON.stringify(path)});
    db.exec("BEGIN IMMEDIATE");
    process.stdout.write("LOCKED\\n");
    setTimeout(() => { db.exec("COMMIT"); db.close(); process.exit(0); }, ${holdMs});`;
  const child = spawn(process.execPath, ["-e", code], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (d: Buffer) => d.toString().includes("LOCKED") && resolve());
    child.once("exit", (c) => reject(new Error(`lock holder exited early (${c})`)));
  });
  return { released: new Promise<void>((r) => child.once("exit", () => r())) };
}

/** The longest gap between 5 ms timer ticks while it runs: how long the loop was frozen. */
function loopMonitor(): { stop(): number } {
  let last = performance.now();
  let worst = 0;
  const t = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
  }, 5);
  return {
    stop() {
      clearInterval(t);
      return Math.max(worst, performance.now() - last);
    },
  };
}

const rec = () => ({ data: { n: 1 }, createdAt: Date.now(), expiresAt: Date.now() + 60_000 });

describe("SqliteStore with the file locked by another process", () => {
  it("waits asynchronously, then succeeds once the lock is released", async () => {
    const path = join(dir, "wait.db");
    await using store = new SqliteStore({ path, sweepInterval: 0 });
    await store.create("s", rec());
    const HOLD = 1500;
    const lock = await holdLock(path, HOLD);
    const monitor = loopMonitor();
    const t0 = performance.now();
    const writes = Promise.all([
      store.update("s", { set: { a: 1 }, delete: [] }, Date.now() + 60_000),
      store.create("t", rec()),
      store.update("s", { set: { b: 2 }, delete: [] }, Date.now() + 60_000),
    ]);
    // Reads do not need the write lock (WAL): they answer while the lock is held.
    assert.equal((await store.get("s"))?.data.n, 1);
    assert.ok(performance.now() - t0 < HOLD / 2, "a read is not held up by another process's write lock");
    assert.deepEqual(await writes, [true, true, true]);
    const frozen = monitor.stop();
    await lock.released;
    assert.ok(performance.now() - t0 >= HOLD * 0.8, "the writes did wait for the lock");
    // Generous: the lock was held for 1.5 s; a blocking busy handler freezes the loop that long.
    assert.ok(frozen < HOLD / 3, `event loop frozen for ${frozen.toFixed(0)} ms while the file was locked`);
    assert.deepEqual({ ...(await store.get("s"))?.data }, { n: 1, a: 1, b: 2 });
  });

  it("fails with STORE_UNAVAILABLE after lockTimeout, without freezing the loop", async () => {
    const path = join(dir, "deadline.db");
    await using store = new SqliteStore({ path, sweepInterval: 0, lockTimeout: 300 });
    await store.create("s", rec());
    const lock = await holdLock(path, 1500);
    const monitor = loopMonitor();
    const t0 = performance.now();
    await assert.rejects(store.update("s", { set: { a: 1 }, delete: [] }, Date.now() + 60_000), { code: "STORE_UNAVAILABLE" });
    await assert.rejects(store.destroy("s"), { code: "STORE_UNAVAILABLE" });
    const took = performance.now() - t0;
    const frozen = monitor.stop();
    assert.ok(took < 1400, `gave up at the deadline (${took.toFixed(0)} ms for two calls of 300 ms)`);
    assert.ok(frozen < 500, `event loop frozen for ${frozen.toFixed(0)} ms`);
    await lock.released;
    assert.equal(await store.update("s", { set: { a: 1 }, delete: [] }, Date.now() + 60_000), true, "works again after the lock");
  });
});
