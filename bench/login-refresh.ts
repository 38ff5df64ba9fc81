/**
 * Credential-session benchmark: 1,000 concurrent XRPC requests through the atproto profile
 * when the access token has expired (so the burst includes exactly one refresh call that
 * every request waits for) against the same burst with a valid token, and against a plain
 * Session whose requests carry a hand-set Authorization header (the peer: no credential
 * feature at all). All three talk to the same local PDS (test/login/helpers/pds-server.ts,
 * real HS256 JWTs, in a child process: bench/login-pds-process.ts) in the same run;
 * rounds are interleaved (each round is `--bursts` bursts of each case, so one slow burst on
 * a busy machine weighs less), medians printed, with the ratios expired/valid (target
 * ≥ 0.95) and valid/plain (the credential feature's overhead).
 *
 *   npx tsx bench/login-refresh.ts [--rounds 9] [--bursts 3] [--burst 1000] [--conns 16]
 *
 * The extra cost of the expired case is one refresh round trip that every request waits
 * for (no request can go out before the new token is in), so the ratio depends on how long
 * a burst takes against that round trip: on loopback a burst is only a few hundred ms,
 * which makes this the harshest setting; over a real network (longer bursts) the one
 * round trip weighs less.
 */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Message } from "../src/http/message.js";
import { Session } from "../src/http/session.js";
import { AtprotoSession } from "../src/login/index.js";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "9" },
    bursts: { type: "string", default: "3" },
    burst: { type: "string", default: "1000" },
    conns: { type: "string", default: "16" },
  },
});
const ROUNDS = Number(values.rounds);
const BURST = Number(values.burst);
const BURSTS = Number(values.bursts);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

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
const refreshes = async () => (await ask<{ refreshes: number }>("stats")).refreshes;

const sessionOptions = { proxyResolver: null, maxConnsPerHost: Number(values.conns) };
const ours = new AtprotoSession({ service: ready.entryway, sessionOptions });
const plain = new Session(sessionOptions);
const sessionString = (expiredAccess: boolean) => ask<string>("issue", { expiredAccess });

/** Milliseconds for one burst of BURST concurrent requests. */
async function burst(one: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await Promise.all(Array.from({ length: BURST }, one));
  return performance.now() - start;
}

/** Each case runs one burst and returns its duration in ms. */
const contenders: Record<string, () => Promise<number>> = {
  "atproto, expired token (1 refresh)": async () => {
    await ours.login({ sessionString: await sessionString(true) }); // import: no network
    const before = await refreshes();
    const ms = await burst(() => ours.get("com.example.ping"));
    const after = await refreshes();
    if (after - before !== 1) throw new Error(`expected one refresh, saw ${after - before}`);
    return ms;
  },
  "atproto, valid token": async () => {
    await ours.login({ sessionString: await sessionString(false) });
    const before = await refreshes();
    const ms = await burst(() => ours.get("com.example.ping"));
    if ((await refreshes()) !== before) throw new Error("a valid token was refreshed");
    return ms;
  },
  "plain Session + Authorization header": async () => {
    const accessJwt = (await sessionString(false)).split(":::")[2];
    const url = `${ready.pds}/xrpc/com.example.ping`;
    return burst(async () => {
      const msg = new Message("GET", url);
      msg.requestHeaders.set("Accept", "application/json");
      msg.requestHeaders.set("Authorization", `Bearer ${accessJwt}`);
      const bytes = await plain.sendAndRead(msg);
      if (msg.status !== 200) throw new Error(`HTTP ${msg.status}`);
      return JSON.parse(Buffer.from(bytes).toString("utf8"));
    });
  },
};

const results: Record<string, number[]> = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
for (const fn of Object.values(contenders)) await fn(); // warm-up (JIT, connections)
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, fn] of Object.entries(contenders)) {
    let ms = 0;
    for (let b = 0; b < BURSTS; b++) ms += await fn();
    results[name].push((BURST * BURSTS) / (ms / 1000));
  }
}
const med = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, median(v)]));

console.log(`\n## login-refresh: bursts of ${BURST} concurrent requests, ${BURSTS} per round, ${ROUNDS} rounds, maxConnsPerHost ${values.conns}, median req/s`);
console.log("| case | req/s (median) |");
console.log("| --- | ---: |");
for (const [k, v] of Object.entries(med)) console.log(`| ${k} | ${v.toFixed(0)} |`);
const expiredVsValid = med["atproto, expired token (1 refresh)"] / med["atproto, valid token"];
const validVsPlain = med["atproto, valid token"] / med["plain Session + Authorization header"];
console.log(`ratio expired / valid: ${expiredVsValid.toFixed(2)}× (target ≥ 0.95)`);
console.log(`ratio atproto valid / plain Session: ${validVsPlain.toFixed(2)}×`);

await ours.close();
await plain.close();
await ask("close").catch(() => undefined);
child.kill();
