/**
 * RedisStore on a real Redis Cluster: three throwaway cluster-enabled redis-server
 * processes on spare ports, joined with `redis-cli --cluster create`, then the full
 * conformance suite through node-redis's `createCluster`. Skipped with a message when the
 * cluster cannot be created here (outside CI).
 */
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { runStoreConformance } from "../../src/stores/conformance.js";
import { RedisStore } from "../../src/stores/redis.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  const srv = net.createServer();
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

async function startCluster(): Promise<{ ports: number[]; stop(): Promise<void> } | string> {
  if (spawnSync("redis-server", ["--version"]).status !== 0) return "redis-server is not on PATH";
  const dir = mkdtempSync(join(tmpdir(), "sessionkit-cluster-"));
  const children: ChildProcess[] = [];
  const stop = async () => {
    for (const child of children) {
      if (child.exitCode === null) {
        child.kill("SIGKILL");
        await once(child, "exit");
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const ports: number[] = [];
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      ports.push(port);
      const child = spawn(
        "redis-server",
        [
          "--port",
          String(port),
          "--bind",
          "127.0.0.1",
          "--cluster-enabled",
          "yes",
          "--cluster-config-file",
          join(dir, `nodes-${port}.conf`),
          "--dir",
          dir,
          "--save",
          "",
          "--appendonly",
          "no",
        ],
        { stdio: "ignore" },
      );
      children.push(child);
    }
    await sleep(200);
    const create = spawnSync(
      "redis-cli",
      ["--cluster", "create", ...ports.map((p) => `127.0.0.1:${p}`), "--cluster-replicas", "0", "--cluster-yes"],
      { encoding: "utf8", timeout: 20_000 },
    );
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout} ${create.stderr}`);
    for (let i = 0; i < 100; i++) {
      const info = spawnSync("redis-cli", ["-p", String(ports[0]), "cluster", "info"], { encoding: "utf8" });
      if (info.stdout.includes("cluster_state:ok")) return { ports, stop };
      await sleep(100);
    }
    throw new Error("the cluster never reached cluster_state:ok");
  } catch (error) {
    await stop();
    return `could not create a throwaway Redis Cluster: ${(error as Error).message}`;
  }
}

const cluster = await startCluster();
const skip = typeof cluster === "string" ? cluster : false;
// A best-effort test (as agreed for this part): it skips with a visible message, even in
// CI, when the machine cannot host a throwaway cluster; the single-node suite still runs.
if (skip !== false) console.warn(`\n*** ${skip}: skipping Redis Cluster tests ***\n`);
const rootNodes = typeof cluster === "string" ? [] : cluster.ports.map((p) => `redis://127.0.0.1:${p}`);
after(async () => {
  if (typeof cluster !== "string") await cluster.stop();
});

runStoreConformance("RedisStore on a Redis Cluster", () => new RedisStore({ cluster: { rootNodes }, prefix: "c:" }), { skip });

describe("RedisStore on a Redis Cluster: routing", { skip }, () => {
  it("spreads sessions over the nodes, each session on one slot", async () => {
    await using store = new RedisStore({ cluster: { rootNodes }, prefix: "spread:" });
    const now = Date.now();
    for (let i = 0; i < 30; i++) {
      assert.equal(await store.create(`id${i}`, { data: { i }, createdAt: now, expiresAt: now + 60_000 }), true);
      assert.equal(await store.update(`id${i}`, { set: { j: i }, delete: [] }, now + 60_000), true);
    }
    const perNode = (cluster as { ports: number[] }).ports.map((p) =>
      Number(spawnSync("redis-cli", ["-p", String(p), "dbsize"], { encoding: "utf8" }).stdout.trim()),
    );
    assert.equal(
      perNode.reduce((a, b) => a + b, 0),
      30,
    );
    assert.ok(perNode.filter((n) => n > 0).length >= 2, `sessions landed on several nodes: ${perNode}`);
    for (let i = 0; i < 30; i++) assert.deepEqual({ ...(await store.get(`id${i}`))?.data }, { i, j: i });
  });

  it("carries ended-session notifications between two stores (nodes) through the cluster", async () => {
    await using a = new RedisStore({ cluster: { rootNodes }, prefix: "events:", notifications: true });
    await using b = new RedisStore({ cluster: { rootNodes }, prefix: "events:", notifications: true });
    await Promise.all([a.ready(), b.ready()]);
    const heard: unknown[] = [];
    const own: unknown[] = [];
    b.subscribeEnded((e) => heard.push(e));
    a.subscribeEnded((e) => own.push(e));
    await sleep(300); // the subscriber connections subscribe
    await a.publishEnded({ id: "sid-1", owner: "u1", reason: "revoke-owner" });
    for (let i = 0; i < 100 && heard.length === 0; i++) await sleep(20);
    assert.deepEqual(heard, [{ id: "sid-1", owner: "u1", reason: "revoke-owner" }]);
    assert.deepEqual(own, [], "a store does not hear its own events back");
  });
});
