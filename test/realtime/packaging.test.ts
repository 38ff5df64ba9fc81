import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const dir = fileURLToPath(new URL("../../src/realtime/", import.meta.url));

test("only the Redis backplane imports redis, and only dynamically", () => {
  for (const name of readdirSync(dir)) {
    const text = readFileSync(dir + name, "utf8");
    const staticRedis = /^\s*import\s[^;]*from\s+["']redis["']/m.test(text);
    if (name === "redis-cluster.ts") assert.ok(staticRedis, "redis-cluster.ts uses redis");
    else assert.ok(!staticRedis, `${name} must not import redis`);
    const importsBackplane = /^\s*import\s[^;]*from\s+["']\.\/redis-cluster\.js["']/m.test(text);
    assert.ok(!importsBackplane, `${name} must load redis-cluster.js with import() only`);
  }
  assert.match(readFileSync(dir + "cluster.ts", "utf8"), /await import\("\.\/redis-cluster\.js"\)/);
});

test("the entry point loads without the cluster", async () => {
  const mod = await import("../../src/realtime/index.js");
  for (const name of [
    "RealtimeSession",
    "RealtimeServer",
    "Credentials",
    "CloseReason",
    "createRedisCluster",
    "compileFilter",
    "InvalidFilterError",
    "quoteFilterValue",
  ]) {
    assert.ok(name in mod, name);
  }
});
