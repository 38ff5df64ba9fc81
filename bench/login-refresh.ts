/**
 * Credential-session benchmark: 1,000 concurrent XRPC requests through the atproto profile
 * when the access token has expired (so the burst includes exactly one refresh call that
 * every request waits for) against the same burst with a valid token, and against a plain
 * Session whose requests carry a hand-set Authorization header (the peer: no credential
 * feature at all). All three talk to the same local PDS (test/login/helpers/pds-server.ts,
 * real HS256 JWTs, in a child process: bench/login-pds-process.ts) in the same run.
 *
 *   npx tsx bench/login-refresh.ts [--rounds 25] [--bursts 3] [--burst 1000] [--conns 16] [--quick]
 *
 * Fairness rules (each one removes a bias seen on a busy machine):
 *
 * - bursts are interleaved case by case (E V P, V P E, P E V, …: the order rotates every
 *   burst), so no case always follows the same one or always runs first in a round;
 * - every burst is checked on the server: exactly 1,000 authorized requests, none refused
 *   (so no request went out with the old token and was retried), and exactly one refresh
 *   call for the expired case (zero for the valid one). A burst that breaks a rule aborts
 *   the run;
 * - no forced GC between bursts: tried, it doubled the next burst's CPU time (V8 shrinks
 *   the young generation after a full GC), which measured the GC rather than the code.
 *
 * Reported per case: the median req/s over the rounds (a round is `--bursts` bursts of each
 * case), the client's CPU time per request (process.cpuUsage over the burst: this is what
 * the credential code costs, far less sensitive to how busy the machine is), and two ratios
 * expired/valid: of the medians (the target, ≥ 0.95) and the median of per-round
 * ratios (each round's bursts ran side by side, so this one cancels slow load drift).
 *
 * The extra cost of the expired case is one refresh round trip that every request waits
 * for (no request may go out before the new token is in), so the ratio depends on how long
 * a burst takes against that round trip: on loopback a burst is only a few hundred ms,
 * which makes this the harshest setting; over a real network the one round trip weighs less.
 */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Message } from "../src/http/message.js";
import { Session } from "../src/http/session.js";
import { AtprotoSession } from "../src/login/index.js";

const { values } = parseArgs({
  options: {
    rounds: { type: "string" },
    bursts: { type: "string", default: "3" },
    burst: { type: "string", default: "1000" },
    conns: { type: "string", default: "16" },
    quick: { type: "boolean", default: false },
  },
});
// On a shared machine one burst varies by ±20 %; 25 rounds keep the medians within a few %.
const ROUNDS = Number(values.rounds ?? (values.quick ? 5 : 25));
const BURST = Number(values.burst);
const BURSTS = Number(values.bursts);
for (const [k, v] of Object.entries({ rounds: ROUNDS, burst: BURST, bursts: BURSTS, conns: Number(values.conns) })) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${k} must be a positive integer`);
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

// The PDS runs in its own process, as a real one would.
const child = fork(fileURLToPath(new URL("./login-pds-process.ts", import.meta.url)), [], { execArgv: ["--import", "tsx"] });
const ready = await new Promise<{ entryway: string; pds: string }>((resolve) => child.once("message", resolve as (m: unknown) => void));
let nextId = 0;
function ask<T>(cmd: string, extra: Record<string, unknown> = {}): Promise<T> {
  const id = ++nextId;
  return new Promise((resolve) => {
    const onMessage = (m: { id?: number; value: T }) => {
      if (m.id !== id) return;
      child.off("message", onMessage);
      resolve(m.value);
    };
    child.on("message", onMessage);
    child.send({ id, cmd, ...extra });
  });
}
interface Stats {
  refreshes: number;
  requests: number;
  authorized: number;
}
const stats = () => ask<Stats>("stats");

const sessionOptions = { proxyResolver: null, maxConnsPerHost: Number(values.conns) };
const ours = new AtprotoSession({ service: ready.entryway, sessionOptions });
const plain = new Session(sessionOptions);
const sessionString = (expiredAccess: boolean) => ask<string>("issue", { expiredAccess });

interface Burst {
  ms: number;
  cpuMs: number;
}

/** One burst of BURST concurrent requests, checked on the server; `refreshes` expected. */
async function burst(one: () => Promise<unknown>, refreshes: number, name: string): Promise<Burst> {
  const before = await stats();
  const cpu = process.cpuUsage();
  const start = performance.now();
  await Promise.all(Array.from({ length: BURST }, one));
  const ms = performance.now() - start;
  const used = process.cpuUsage(cpu);
  const after = await stats();
  const d = {
    refreshes: after.refreshes - before.refreshes,
    requests: after.requests - before.requests,
    authorized: after.authorized - before.authorized,
  };
  if (d.refreshes !== refreshes || d.requests !== BURST || d.authorized !== BURST) {
    throw new Error(`${name}: expected ${refreshes} refresh(es) and ${BURST} authorized requests, the server saw ${JSON.stringify(d)}`);
  }
  return { ms, cpuMs: (used.user + used.system) / 1000 };
}

const EXPIRED = "atproto, expired token (1 refresh)";
const VALID = "atproto, valid token";
const PLAIN = "plain Session + Authorization header";

/** Each case runs one burst (after its untimed setup). */
const contenders: Record<string, () => Promise<Burst>> = {
  [EXPIRED]: async () => {
    await ours.login({ sessionString: await sessionString(true) }); // import: no network
    return burst(() => ours.get("com.example.ping"), 1, EXPIRED);
  },
  [VALID]: async () => {
    await ours.login({ sessionString: await sessionString(false) });
    return burst(() => ours.get("com.example.ping"), 0, VALID);
  },
  [PLAIN]: async () => {
    const accessJwt = (await sessionString(false)).split(":::")[2];
    const url = `${ready.pds}/xrpc/com.example.ping`;
    return burst(
      async () => {
        const msg = new Message("GET", url);
        msg.requestHeaders.set("Accept", "application/json");
        msg.requestHeaders.set("Authorization", `Bearer ${accessJwt}`);
        const bytes = await plain.sendAndRead(msg);
        if (msg.status !== 200) throw new Error(`HTTP ${msg.status}`);
        return JSON.parse(Buffer.from(bytes).toString("utf8"));
      },
      0,
      PLAIN,
    );
  },
};
const names = Object.keys(contenders);

const rps: Record<string, number[]> = Object.fromEntries(names.map((k) => [k, []]));
const cpuPerReq: Record<string, number[]> = Object.fromEntries(names.map((k) => [k, []]));
const pairRatios: number[] = [];
for (let w = 0; w < 2; w++) for (const fn of Object.values(contenders)) await fn(); // warm-up (JIT, connections)
let turn = 0;
for (let r = 0; r < ROUNDS; r++) {
  const ms: Record<string, number> = Object.fromEntries(names.map((k) => [k, 0]));
  for (let b = 0; b < BURSTS; b++) {
    // Rotate the order on every pass so no case always runs first or after the same case.
    const order = names.map((_, i) => names[(i + turn) % names.length]!);
    turn++;
    for (const name of order) {
      const one = await contenders[name]!();
      ms[name] += one.ms;
      cpuPerReq[name]!.push((one.cpuMs * 1000) / BURST);
    }
  }
  for (const name of names) rps[name]!.push((BURST * BURSTS) / (ms[name]! / 1000));
  pairRatios.push(rps[EXPIRED]![r]! / rps[VALID]![r]!);
}
const med = Object.fromEntries(names.map((k) => [k, median(rps[k]!)]));
const cpu = Object.fromEntries(names.map((k) => [k, median(cpuPerReq[k]!)]));

console.log(
  `\n## login-refresh: bursts of ${BURST} concurrent requests, ${BURSTS} per case per round, ${ROUNDS} rounds, maxConnsPerHost ${values.conns}`,
);
console.log("| case | req/s (median) | client CPU µs/request (median) |");
console.log("| --- | ---: | ---: |");
for (const k of names) console.log(`| ${k} | ${med[k]!.toFixed(0)} | ${cpu[k]!.toFixed(1)} |`);
console.log(`ratio expired / valid (medians): ${(med[EXPIRED]! / med[VALID]!).toFixed(3)}× (target ≥ 0.95)`);
console.log(`ratio expired / valid (median of per-round ratios): ${median(pairRatios).toFixed(3)}×`);
console.log(`ratio atproto valid / plain Session (medians): ${(med[VALID]! / med[PLAIN]!).toFixed(3)}×`);

await ours.close();
await plain.close();
// The PDS process closes its server and exits without answering: wait for the exit.
const exited = new Promise((resolve) => child.once("exit", resolve));
child.send({ id: ++nextId, cmd: "close" });
await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
child.kill();
