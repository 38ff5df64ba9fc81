/**
 * Realtime benchmark: RealtimeSession/RealtimeServer against raw `ws` on the same setup
 * (node:http server on loopback, upgrade handled by a noServer WebSocketServer, JSON
 * payloads parsed on receipt, no compression), in the same process run. Prints medians of
 * a few rounds and the ratio ours/raw (higher is better for throughput), by wall clock
 * and per CPU-second of the process (steadier on a shared machine), plus the time to
 * resume a session after its socket is dropped.
 *
 * Last, the cost of session filter strings: parsing one, and matching a compiled one
 * against many sessions' properties next to the same test written as a function.
 *
 *   npx tsx bench/realtime.ts [--rounds 5] [--messages 50000] [--requests 5000]
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { WebSocket, WebSocketServer } from "ws";
import { compileFilter, parseFilter, RealtimeServer, RealtimeSession } from "../src/realtime/index.js";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "5" },
    messages: { type: "string", default: "50000" },
    requests: { type: "string", default: "5000" },
    window: { type: "string", default: "64" },
  },
});
const ROUNDS = Number(values.rounds);
const MESSAGES = Number(values.messages);
const REQUESTS = Number(values.requests);
const WINDOW = Number(values.window);
const payload = { user: "bench", n: 0, text: "hello realtime world" };

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// ── raw ws ────────────────────────────────────────────────────────────────────────────────
async function rawSetup() {
  const server = http.createServer();
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  let onOneWay: () => void = () => {};
  wss.on("connection", (ws) => {
    ws.on("message", (data) => {
      const m = JSON.parse(data.toString()) as { t: string; id?: number; d: unknown };
      if (m.t === "m") onOneWay();
      else ws.send(JSON.stringify({ t: "r", id: m.id, d: m.d }));
    });
  });
  server.on("upgrade", (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req)));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/`, { perMessageDeflate: false });
  await new Promise((r) => client.once("open", r));
  const pending = new Map<number, (v: unknown) => void>();
  client.on("message", (data) => {
    const m = JSON.parse(data.toString()) as { id: number; d: unknown };
    pending.get(m.id)?.(m.d);
    pending.delete(m.id);
  });
  let nextId = 0;
  return {
    oneWay: (n: number) =>
      new Promise<void>((resolve) => {
        let got = 0;
        onOneWay = () => {
          if (++got === n) resolve();
        };
        for (let i = 0; i < n; i++) client.send(JSON.stringify({ t: "m", p: "bench", d: { ...payload, n: i } }));
      }),
    request: (d: unknown) =>
      new Promise((resolve) => {
        const id = ++nextId;
        pending.set(id, resolve);
        client.send(JSON.stringify({ t: "q", id, p: "echo", d }));
      }),
    async close() {
      client.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

// ── sessionkit/realtime ─────────────────────────────────────────────────────────────────
async function oursSetup() {
  const server = new RealtimeServer({ pingPeriod: 10_000 });
  let onOneWay: () => void = () => {};
  server.addHandler("bench", () => onOneWay());
  server.addHandler("echo", (v) => v);
  const url = await server.listen(0);
  const session = await new RealtimeSession(url).connect();
  return {
    server,
    session,
    oneWay: (n: number) =>
      new Promise<void>((resolve) => {
        let got = 0;
        onOneWay = () => {
          if (++got === n) resolve();
        };
        for (let i = 0; i < n; i++) session.send("bench", { ...payload, n: i });
      }),
    request: (d: unknown) => session.request("echo", d as never),
    async close() {
      await session.close();
      await server.close();
    },
  };
}

/** Wall time in ms; the process CPU time (client + server + GC, all in this process) goes to `lastCpuMs`. */
let lastCpuMs = 0;
async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  await fn();
  const used = process.cpuUsage(cpu);
  lastCpuMs = (used.user + used.system) / 1000;
  return performance.now() - start;
}

async function requestsSequential(request: (d: unknown) => Promise<unknown>, n: number) {
  for (let i = 0; i < n; i++) await request({ ...payload, n: i });
}

async function requestsWindowed(request: (d: unknown) => Promise<unknown>, n: number, window: number) {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      await request(payload);
    }
  };
  await Promise.all(Array.from({ length: window }, worker));
}

type Impl = Awaited<ReturnType<typeof rawSetup>>;
/** Each run returns [operations, wall ms]; CPU ms is read from `lastCpuMs`. */
type Measure = { name: string; run: (impl: Impl) => Promise<[number, number]> };
const measures: Measure[] = [
  { name: "one-way messages/s", run: async (impl) => [MESSAGES, await timeIt(() => impl.oneWay(MESSAGES))] },
  {
    name: "request/response round trips/s (sequential)",
    run: async (impl) => [REQUESTS, await timeIt(() => requestsSequential(impl.request, REQUESTS))],
  },
  {
    name: `request/response round trips/s (${WINDOW} in flight)`,
    run: async (impl) => [REQUESTS * 4, await timeIt(() => requestsWindowed(impl.request, REQUESTS * 4, WINDOW))],
  },
];
const results = measures.map(() => ({
  raw: [] as number[],
  ours: [] as number[],
  ratios: [] as number[],
  rawCpu: [] as number[],
  oursCpu: [] as number[],
  cpuRatios: [] as number[],
}));

// Both set up side by side; each measurement runs raw and ours back to back (order
// alternating by round), so drift in machine load hits both alike. The ratio reported is
// the median of the per-round ratios.
const raw = await rawSetup();
const ours = await oursSetup();
for (const impl of [raw, ours]) {
  await impl.oneWay(5000); // warm-up
  await requestsSequential(impl.request, 1000);
}
for (let round = 0; round < ROUNDS; round++) {
  for (const [i, m] of measures.entries()) {
    const pair = { raw: 0, ours: 0 };
    const cpu = { raw: 0, ours: 0 };
    for (const which of round % 2 ? (["ours", "raw"] as const) : (["raw", "ours"] as const)) {
      const [ops, wallMs] = await m.run(which === "raw" ? raw : ours);
      pair[which] = ops / (wallMs / 1000);
      cpu[which] = ops / (lastCpuMs / 1000);
    }
    const r = results[i]!;
    r.raw.push(pair.raw);
    r.ours.push(pair.ours);
    r.ratios.push(pair.ours / pair.raw);
    r.rawCpu.push(cpu.raw);
    r.oursCpu.push(cpu.ours);
    r.cpuRatios.push(cpu.ours / cpu.raw);
  }
}
await raw.close();
await ours.close();

// ── time to resume after a dropped socket ────────────────────────────────────────────────
async function resumeTimes(strategy: ((attempt: number) => number) | undefined, n: number): Promise<number[]> {
  const server = new RealtimeServer({ pingPeriod: 10_000 });
  server.addHandler("echo", (v) => v);
  const url = await server.listen(0);
  const session = await new RealtimeSession(url, { reconnect: strategy ? { timeout: 10_000, strategy } : undefined }).connect();
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const recovered = new Promise((r) => session.once("recovered", () => r(undefined)));
    const start = performance.now();
    server.getSession(session.sessionId!)!.socket!.terminate();
    await recovered;
    await session.request("echo", i); // usable again, not just reconnected
    times.push(performance.now() - start);
  }
  await session.close();
  await server.close();
  return times;
}
const resumeImmediate = await resumeTimes(() => 0, 20);
const resumeDefault = await resumeTimes(undefined, 10);

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
console.log(`\nsessionkit/realtime vs raw ws — Node ${process.version}, ${ROUNDS} rounds, medians\n`);
console.log("| measure | raw ws | sessionkit | ratio ours/raw (median of rounds) |");
console.log("| --- | ---: | ---: | ---: |");
for (const [i, m] of measures.entries()) {
  const r = results[i]!;
  console.log(`| ${m.name} | ${fmt(median(r.raw))} | ${fmt(median(r.ours))} | ${median(r.ratios).toFixed(2)}× |`);
}
// On a shared machine wall time swings with other load; operations per CPU-second of
// this process (client + server + GC) is the steadier measure of what each costs.
console.log("\n| per CPU-second of the process | raw ws | sessionkit | ratio ours/raw (median of rounds) |");
console.log("| --- | ---: | ---: | ---: |");
for (const [i, m] of measures.entries()) {
  const r = results[i]!;
  console.log(`| ${m.name.replace("/s", "/CPU-s")} | ${fmt(median(r.rawCpu))} | ${fmt(median(r.oursCpu))} | ${median(r.cpuRatios).toFixed(2)}× |`);
}
console.log(`\n| time to resume after a dropped socket (until a request succeeds) | median | max |`);
console.log("| --- | ---: | ---: |");
console.log(
  `| immediate retry strategy (protocol cost) | ${median(resumeImmediate).toFixed(1)} ms | ${Math.max(...resumeImmediate).toFixed(1)} ms |`,
);
console.log(
  `| default strategy (first retry after 50–100 ms jitter) | ${median(resumeDefault).toFixed(1)} ms | ${Math.max(...resumeDefault).toFixed(1)} ms |`,
);

// ── session filter strings ───────────────────────────────────────────────────────────────
{
  const text = "Department eq 'Accounts' and not $Transport is 'HTTP' or Country in ['UK', 'FR', 'DE'] and has Tier";
  const sessions = Array.from({ length: 10_000 }, (_, i) => ({
    $SessionId: `s${i}`,
    $Principal: `user${i}`,
    $Transport: "WEBSOCKET",
    Department: i % 3 ? "Payroll" : "Accounts",
    Country: ["UK", "FR", "US", "JP"][i % 4]!,
    ...(i % 5 ? {} : { Tier: "gold" }),
  }));
  const byHand = (p: Record<string, string>) =>
    (p.Department === "Accounts" && p.$Transport !== "HTTP") || (["UK", "FR", "DE"].includes(p.Country!) && "Tier" in p);
  const timeIt = (fn: () => void, n: number) => {
    const start = performance.now();
    for (let i = 0; i < n; i++) fn();
    return (performance.now() - start) / n;
  };
  const parseUs = median(Array.from({ length: 5 }, () => timeIt(() => parseFilter(text), 2000))) * 1000;
  const compiled = compileFilter(text);
  const count = (f: (p: Record<string, string>) => boolean) => () => {
    let n = 0;
    for (const p of sessions) if (f(p)) n++;
    return n;
  };
  if (count(compiled)() !== count(byHand)()) throw new Error("the filter and the function disagree");
  const filterMs = median(Array.from({ length: 5 }, () => timeIt(count(compiled), 50)));
  const handMs = median(Array.from({ length: 5 }, () => timeIt(count(byHand), 50)));
  console.log(`\n| session filter \`${text}\` | time |`);
  console.log("| --- | ---: |");
  console.log(`| parse (once per distinct filter text; compileFilter caches) | ${parseUs.toFixed(1)} µs |`);
  console.log(`| match 10 000 sessions, compiled filter string | ${filterMs.toFixed(2)} ms |`);
  console.log(`| match 10 000 sessions, same test as a function | ${handMs.toFixed(2)} ms |`);
}
