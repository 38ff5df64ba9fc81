/**
 * Issue 3 cache benchmark: Session.sendAndRead to a local server (separate process) without
 * a cache, against the same request answered by the Cache feature (memory and SQLite
 * storage), and a 304 revalidation. The server counts the requests it gets, to show that
 * hits never reached it. Run: npx tsx bench/cache-hit.ts [--quick]
 */
import { fork } from "node:child_process";
import http from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Message, Session } from "../src/index.js";
import { Cache, SqliteCacheStorage } from "../src/features/cache/index.js";
import { compare } from "./lib/measure.js";

if (process.argv.includes("--server")) {
  // The server side, in its own process: a 1 KiB body, cacheable or revalidated.
  const body = Buffer.alloc(1024, 0x61);
  const hits: Record<string, number> = {};
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    hits[path] = (hits[path] ?? 0) + 1;
    const headers: Record<string, string> = { "Content-Type": "text/plain", ETag: '"v1"' };
    if (path === "/cached") headers["Cache-Control"] = "max-age=3600";
    if (path === "/revalidate") headers["Cache-Control"] = "no-cache";
    if (path === "/revalidate" && req.headers["if-none-match"] === '"v1"') {
      res.writeHead(304, headers);
      return res.end();
    }
    res.writeHead(200, { ...headers, "Content-Length": String(body.length) });
    res.end(body);
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, "127.0.0.1", () => process.send?.({ port: (server.address() as AddressInfo).port }));
  process.on("message", (m) => {
    if (m === "hits") process.send?.({ hits: { ...hits } });
  });
  process.on("disconnect", () => process.exit(0));
} else {
  const quick = process.argv.includes("--quick");
  const child = fork(fileURLToPath(import.meta.url), ["--server"], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const port = await new Promise<number>((resolve) => child.once("message", (m: { port: number }) => resolve(m.port)));
  const hitsNow = () =>
    new Promise<Record<string, number>>((resolve) => {
      child.once("message", (m: { hits: Record<string, number> }) => resolve(m.hits));
      child.send("hits");
    });
  const url = (p: string) => `http://127.0.0.1:${port}${p}`;
  const dir = mkdtempSync(join(tmpdir(), "sessionkit-bench-cache-"));

  const plain = new Session();
  const memCache = new Cache();
  const withMem = new Session({ features: [memCache] });
  const sqliteCache = new Cache({ storage: await SqliteCacheStorage.open(join(dir, "bench.db")) });
  const withSqlite = new Session({ features: [sqliteCache] });

  // Prime both caches, then count what reaches the server from here on.
  await withMem.sendAndRead(new Message("GET", url("/cached")));
  await withSqlite.sendAndRead(new Message("GET", url("/cached")));
  await withMem.sendAndRead(new Message("GET", url("/revalidate")));
  const before = await hitsNow();

  const counts = { plain: 0, mem: 0, sqlite: 0, reval: 0 };
  for (const concurrency of [1, 16]) {
    const medians = await compare(
      {
        "plain sendAndRead (network)": () => (counts.plain++, plain.sendAndRead(new Message("GET", url("/plain")))),
        "cache hit, memory": () => (counts.mem++, withMem.sendAndRead(new Message("GET", url("/cached")))),
        "cache hit, SQLite": () => (counts.sqlite++, withSqlite.sendAndRead(new Message("GET", url("/cached")))),
        "revalidation (304)": () => (counts.reval++, withMem.sendAndRead(new Message("GET", url("/revalidate")))),
      },
      { concurrency, ms: quick ? 500 : 1500, rounds: quick ? 3 : 5 },
    );
    console.log(`\n## concurrency ${concurrency}`);
    console.log("| request | req/s (median) | ratio vs plain |");
    console.log("| --- | ---: | ---: |");
    const ref = medians["plain sendAndRead (network)"];
    for (const [k, v] of Object.entries(medians)) console.log(`| ${k} | ${v.toFixed(0)} | ${(v / ref).toFixed(2)}× |`);
  }

  const after = await hitsNow();
  const reached = (p: string) => (after[p] ?? 0) - (before[p] ?? 0);
  console.log("\n## requests that reached the server during the runs");
  console.log(`plain: sent ${counts.plain}, server saw ${reached("/plain")}`);
  console.log(`cache hits (memory + SQLite): sent ${counts.mem + counts.sqlite}, server saw ${reached("/cached")}`);
  console.log(`revalidations: sent ${counts.reval}, server saw ${reached("/revalidate")} (each a 304)`);

  await plain.close();
  await withMem.close();
  await withSqlite.close();
  await sqliteCache.close();
  child.disconnect();
  rmSync(dir, { recursive: true, force: true });
}
