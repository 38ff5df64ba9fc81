/**
 * Issue 12 reliability figures, re-measured: the numbers in docs/security.md come from here.
 *
 *   1. fuzzing   the fuzz suite (test/fuzz) at a larger scale: inputs tried and the worst
 *                time of one input, per parser;
 *   2. linearity every header parser on 100 KB adversarial inputs: the worst time and its
 *                ratio to a benign input of the same size, measured in the same run;
 *   3. floods    memory and event-loop delay while a local server sends hostile responses
 *                (2,000 stacked codings, padded Content-Types, 50 new cookies per response);
 *   4. outage    how long a Session takes to succeed again after its origin went away and
 *                came back on the same port.
 *
 * Run: npx tsx --expose-gc bench/reliability.ts [--quick]
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { CookieJar } from "../src/features/cookies/cookie-jar.js";
import { ContentSniffer } from "../src/features/sniffer/content-sniffer.js";
import { Message } from "../src/http/message.js";
import { Session } from "../src/http/session.js";
import { measureCase } from "../test/security/linear-budget.js";
import { PARSER_CASES } from "../test/security/parser-cases.js";

const quick = process.argv.includes("--quick");
const MiB = 1024 * 1024;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

function mem() {
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed, external: m.external + m.arrayBuffers };
}

// ── 1. fuzzing ────────────────────────────────────────────────────────────────────────
function fuzzing(): void {
  const scale = quick ? 1 : 10;
  console.log(`\n## fuzzing (test/fuzz at FUZZ_SCALE=${scale})`);
  const root = fileURLToPath(new URL("..", import.meta.url));
  const files = readdirSync(join(root, "test/fuzz"))
    .filter((f) => f.endsWith(".test.ts"))
    .map((f) => join("test/fuzz", f));
  const r = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-concurrency=1", ...files], {
    cwd: root,
    env: { ...process.env, FUZZ_SCALE: String(scale) },
    encoding: "utf8",
    maxBuffer: 64 * MiB,
  });
  const rows = [...r.stdout.matchAll(/^# (.+): (\d+) inputs, worst ([\d.]+) ms$/gm)];
  let total = 0;
  let worst = 0;
  for (const [, name, runs, ms] of rows) {
    total += Number(runs);
    worst = Math.max(worst, Number(ms));
    console.log(`${name.padEnd(28)} ${runs.padStart(7)} inputs   worst ${ms} ms`);
  }
  const failed = /^# fail (\d+)$/m.exec(r.stdout)?.[1] ?? "?";
  console.log(`total: ${total} inputs, worst single input ${worst.toFixed(1)} ms, failures ${failed}`);
}

// ── 2. linearity ──────────────────────────────────────────────────────────────────────
async function linearity(): Promise<void> {
  console.log("\n## linearity (100 KB adversarial inputs; budget = 10 x benign + 50 ms)");
  for (const c of PARSER_CASES) {
    const verdicts = await measureCase(c);
    // The input that came closest to its budget (each verdict is its best attempt).
    const worst = verdicts.reduce((a, b) => (b.ms / b.budgetMs > a.ms / a.budgetMs ? b : a));
    console.log(
      `${c.name.slice(0, 58).padEnd(58)} closest: ${worst.ms.toFixed(2).padStart(7)} ms of a ${worst.budgetMs.toFixed(1).padStart(6)} ms budget ` +
        `(benign ${worst.benignMs.toFixed(2)} ms)  ${verdicts.every((v) => v.within) ? "ok" : "OVER"}`,
    );
  }
}

// ── 3. floods ─────────────────────────────────────────────────────────────────────────
async function hostileServer(): Promise<{ url: string; close: () => Promise<void> }> {
  let body = Buffer.from("x");
  const gz = (await import("node:zlib")).gzipSync(body);
  body = gz;
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    if (req.url === "/codings") {
      // One 10 KB line: 2,000 codings (fits the 16 KiB header limit).
      res.writeHead(200, { "Content-Encoding": Array(2000).fill("gzip").join(","), "Content-Length": body.length });
      return res.end(body);
    }
    if (req.url === "/content-type") {
      res.writeHead(200, { "Content-Type": `text/html${" ".repeat(15_000)}x`, "Content-Length": 5 });
      return res.end("<p>x</p>".slice(0, 5));
    }
    if (req.url === "/cookies") {
      const n = Math.floor(Math.random() * 1e9);
      res.writeHead(200, {
        // 50 cookies of ~250 bytes: about 13 KB, under the 16 KiB header limit.
        "Set-Cookie": Array.from({ length: 50 }, (_, i) => `c${n}_${i}=${"v".repeat(220)}; Path=/; Max-Age=3600`),
        "Content-Length": 1,
      });
      return res.end("x");
    }
    res.end("ok");
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.keepAliveTimeout = 30_000;
  server.maxHeadersCount = 0;
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

async function flood(name: string, path: string, n: number, session: Session, after?: () => Promise<string>): Promise<void> {
  const srv = await hostileServer();
  const lag = monitorEventLoopDelay({ resolution: 5 });
  const before = mem();
  let errors: Record<string, number> = {};
  let peak = before;
  const t0 = performance.now();
  lag.enable();
  const concurrency = 8;
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        next++;
        try {
          await session.sendAndRead(new Message("GET", `${srv.url}${path}`));
        } catch (err) {
          const code = (err as { code?: string }).code ?? "untyped";
          errors = { ...errors, [code]: (errors[code] ?? 0) + 1 };
        }
        if (next % 100 === 0) {
          const m = process.memoryUsage();
          if (m.rss > peak.rss) peak = { rss: m.rss, heap: m.heapUsed, external: m.external + m.arrayBuffers };
        }
      }
    }),
  );
  lag.disable();
  const ms = performance.now() - t0;
  const afterMem = mem();
  await srv.close();
  const extra = after ? `  ${await after()}` : "";
  console.log(
    `${name.padEnd(34)} ${n} responses in ${ms.toFixed(0)} ms; outcomes ${JSON.stringify(errors)}; ` +
      `rss +${((afterMem.rss - before.rss) / MiB).toFixed(1)} MiB (peak +${((peak.rss - before.rss) / MiB).toFixed(1)}), ` +
      `heap +${((afterMem.heap - before.heap) / MiB).toFixed(1)} MiB, native +${((afterMem.external - before.external) / MiB).toFixed(1)} MiB; ` +
      `event-loop delay max ${(lag.max / 1e6).toFixed(1)} ms, p99 ${(lag.percentile(99) / 1e6).toFixed(1)} ms${extra}`,
  );
}

async function floods(): Promise<void> {
  console.log("\n## floods (8 concurrent requests, local server)");
  const n = quick ? 300 : 2000;
  const plain = new Session({ proxyResolver: null, maxConnsPerHost: 8 });
  await flood("Content-Encoding: gzip x 2,000", "/codings", n, plain);
  const sniffing = new Session({ proxyResolver: null, maxConnsPerHost: 8, features: [new ContentSniffer()] });
  await flood("Content-Type padded to 15 KB", "/content-type", n, sniffing);
  const jar = new CookieJar();
  const withJar = new Session({ proxyResolver: null, maxConnsPerHost: 8, features: [jar] });
  await flood(
    "50 new Set-Cookie per response",
    "/cookies",
    Math.min(n, 500),
    withJar,
    async () => `jar holds ${(await jar.allCookies()).length} cookies`,
  );
  await plain.close();
  await sniffing.close();
  await withJar.close();
}

// ── 4. outage ─────────────────────────────────────────────────────────────────────────
async function outage(): Promise<void> {
  console.log("\n## outage recovery (origin down 500 ms, then back on the same port; client retries every 10 ms)");
  const rounds = quick ? 3 : 10;
  const times: number[] = [];
  const failures: Record<string, number> = {};
  for (let round = 0; round < rounds; round++) {
    const sockets = new Set<Socket>();
    const handler = (_req: http.IncomingMessage, res: http.ServerResponse) => res.end("ok");
    let server = http.createServer(handler);
    const track = (s: Socket) => {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
    };
    server.on("connection", track);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    const session = new Session({ proxyResolver: null, timeout: 2000 });
    const url = `http://127.0.0.1:${port}/`;
    await session.sendAndRead(new Message("GET", url)); // a pooled keep-alive connection
    // Down: close the listener and every connection (the pooled one dies under the client).
    await new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    });
    let up = 0;
    setTimeout(() => {
      server = http.createServer(handler);
      server.on("connection", track);
      server.listen(port, "127.0.0.1", () => (up = performance.now()));
    }, 500);
    for (;;) {
      try {
        await session.sendAndRead(new Message("GET", url));
        if (up > 0) break;
      } catch (err) {
        const code = (err as { code?: string }).code ?? "untyped";
        failures[code] = (failures[code] ?? 0) + 1;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    times.push(performance.now() - up);
    await session.close();
    await new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    });
  }
  times.sort((a, b) => a - b);
  console.log(
    `recovery after the origin is back: median ${times[times.length >> 1].toFixed(1)} ms, worst ${times[times.length - 1].toFixed(1)} ms over ${rounds} rounds; ` +
      `errors while down: ${JSON.stringify(failures)}`,
  );
}

console.log(`# reliability (node ${process.version}${quick ? ", --quick" : ""})`);
fuzzing();
await linearity();
await floods();
await outage();
