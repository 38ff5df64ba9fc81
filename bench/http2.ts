/**
 * Issue 15 HTTP/2 benchmark: 100 concurrent small GETs over h2 (ALPN on TLS) from a Session
 * and from undici's `Agent({ allowH2: true })`, against the same Node http2 server running
 * in its own process (certificates from the test PKI). Rounds of the two clients alternate;
 * the figures are requests per second and client CPU (user + system) per request, with the
 * ratio ours/undici from the same run. Run: npx tsx bench/http2.ts [--quick]
 */
import { fork } from "node:child_process";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { Agent } from "undici";
import { Message, Session } from "../src/index.js";
import { tlsFixture } from "../test/helpers/tls.js";

const CONCURRENCY = 100;

if (process.argv.includes("--server")) {
  const { cert, key } = JSON.parse(process.env.BENCH_H2_TLS!) as { cert: string; key: string };
  const body = Buffer.from("hello over h2\n");
  const connections: string[] = [];
  const server = http2.createSecureServer({ cert, key, allowHTTP1: true, settings: { maxConcurrentStreams: 128 } }, (_req, res) => {
    res.writeHead(200, { "content-type": "text/plain", "content-length": String(body.length) });
    res.end(body);
  });
  server.on("secureConnection", (s) => connections.push(String((s as { alpnProtocol?: string }).alpnProtocol)));
  server.listen(0, "127.0.0.1", () => process.send?.({ port: (server.address() as AddressInfo).port }));
  process.on("message", (m) => {
    if (m === "connections") process.send?.({ connections: [...connections] });
  });
  process.on("disconnect", () => process.exit(0));
} else {
  const quick = process.argv.includes("--quick");
  const tls = tlsFixture();
  const child = fork(fileURLToPath(import.meta.url), ["--server"], {
    execArgv: ["--import", "tsx"],
    env: { ...process.env, BENCH_H2_TLS: JSON.stringify({ cert: tls.serverCert, key: tls.serverKey }) },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const port = await new Promise<number>((resolve) => child.once("message", (m: { port: number }) => resolve(m.port)));
  const connectionsNow = () =>
    new Promise<string[]>((resolve) => {
      child.once("message", (m: { connections: string[] }) => resolve(m.connections));
      child.send("connections");
    });
  const origin = `https://127.0.0.1:${port}`;

  const session = new Session({ tlsDatabase: tls.caCert, proxyResolver: null });
  const agent = new Agent({ allowH2: true, connect: { ca: tls.caCert } });
  // undici's Agent opens a connection per request of the first burst (it learns h2 only once
  // connected); the same Agent limited to one connection per origin is measured too.
  const agent1 = new Agent({ allowH2: true, connections: 1, connect: { ca: tls.caCert } });

  let versions = new Set<string>();
  const ours = async () => {
    const msgs = Array.from({ length: CONCURRENCY }, () => new Message("GET", `${origin}/small`));
    await Promise.all(msgs.map((m) => session.sendAndRead(m)));
    for (const m of msgs) versions.add(m.httpVersion);
  };
  const viaUndici = (d: Agent) => async () => {
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        const res = await d.request({ origin, path: "/small", method: "GET" });
        await res.body.arrayBuffer();
      }),
    );
  };
  const undici = viaUndici(agent);
  const undici1 = viaUndici(agent1);

  /** Runs `rounds` bursts of CONCURRENCY requests; wall time and client CPU. */
  const run = async (fn: () => Promise<void>, rounds: number) => {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < rounds; i++) await fn();
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const requests = rounds * CONCURRENCY;
    return { reqPerSec: (requests / ms) * 1000, cpuUsPerReq: (cpu.user + cpu.system) / requests };
  };

  const rounds = quick ? 20 : 100;
  const reps = quick ? 3 : 7;
  await run(ours, 10);
  const connsOurs = (await connectionsNow()).length;
  await run(undici, 10);
  const connsUndici = (await connectionsNow()).length - connsOurs;
  await run(undici1, 10);
  const connsUndici1 = (await connectionsNow()).length - connsOurs - connsUndici;
  versions = new Set();
  const a: Array<{ reqPerSec: number; cpuUsPerReq: number }> = [];
  const b: Array<{ reqPerSec: number; cpuUsPerReq: number }> = [];
  const c: Array<{ reqPerSec: number; cpuUsPerReq: number }> = [];
  for (let i = 0; i < reps; i++) {
    // Rotate the order so no client always runs on a warmer process.
    const order = [
      () => run(ours, rounds).then((r) => a.push(r)),
      () => run(undici, rounds).then((r) => b.push(r)),
      () => run(undici1, rounds).then((r) => c.push(r)),
    ];
    for (let k = 0; k < 3; k++) await order[(i + k) % 3]();
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  const oursRps = median(a.map((r) => r.reqPerSec));
  const undiciRps = median(b.map((r) => r.reqPerSec));
  const oursCpu = median(a.map((r) => r.cpuUsPerReq));
  const undiciCpu = median(b.map((r) => r.cpuUsPerReq));
  const undici1Rps = median(c.map((r) => r.reqPerSec));
  const undici1Cpu = median(c.map((r) => r.cpuUsPerReq));
  const total = (await connectionsNow()).length;

  console.log(`HTTP/2: ${CONCURRENCY} concurrent small GETs, ${rounds} rounds x ${reps} repetitions (median), Node http2 server in its own process`);
  const line = (name: string, rps: number, cpu: number, conns: number) =>
    console.log(`  ${name.padEnd(34)} ${rps.toFixed(0).padStart(7)} req/s  ${cpu.toFixed(1).padStart(6)} µs CPU/req  ${conns} connection(s)`);
  line(`sessionkit Session (httpVersion ${[...versions].join(",")})`, oursRps, oursCpu, connsOurs);
  line("undici Agent({ allowH2 })", undiciRps, undiciCpu, connsUndici);
  line("undici Agent({ allowH2, connections: 1 })", undici1Rps, undici1Cpu, connsUndici1);
  console.log(
    `  ratio ours/undici Agent            ${(oursRps / undiciRps).toFixed(2)}x throughput, ${(oursCpu / undiciCpu).toFixed(2)}x CPU per request`,
  );
  console.log(
    `  ratio ours/undici 1-connection     ${(oursRps / undici1Rps).toFixed(2)}x throughput, ${(oursCpu / undici1Cpu).toFixed(2)}x CPU per request`,
  );
  console.log(`  (server saw ${total} connections in all)`);

  await session.close();
  await agent.close();
  await agent1.close();
  child.disconnect();
}
