/**
 * A/B of CookieJar variants in one run (issue 14): the bench/cookies-jar.ts setup (its
 * cookie server, three Set-Cookie per response), one Session + CookieJar per checkout
 * given on the command line, each loaded from that checkout's sources through tsx; client
 * CPU µs per request and req/s in interleaved rotated rounds (lib/measure.ts compareRounds),
 * then the jar alone. `DIR#label` loads DIR again under another name: an A/A control.
 *
 *   npx tsx bench/ab-cookies.ts /work/wt-base "/work/wt-base#control" /work/wt-variant
 *   (AB_ROUNDS, AB_MS: rounds and their length; default 9 × 1500 ms)
 */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { compareRounds, printRoundsTable } from "./lib/measure.js";

const dirs = process.argv.slice(2);
const child = fork(fileURLToPath(new URL("./cookies-server.ts", import.meta.url)), [], {
  execArgv: ["--import", "tsx"],
  stdio: ["ignore", "inherit", "inherit", "ipc"],
});
const port = await new Promise<number>((resolve) => child.once("message", (m: { port: number }) => resolve(m.port)));
const url = `http://127.0.0.1:${port}/app/page`;
const mods = await Promise.all(
  dirs.map(async (d) => ({
    d,
    root: await import(`${d.split("#")[0]}/src/index.ts`),
    cookies: await import(`${d.split("#")[0]}/src/features/cookies/index.ts`),
  })),
);
const ms = Number(process.env.AB_MS ?? 1500),
  rounds = Number(process.env.AB_ROUNDS ?? 9);
try {
  for (const c of [1, 32]) {
    const contenders: Record<string, () => Promise<unknown>> = {};
    const sessions: { close(): Promise<void> }[] = [];
    for (const { d, root, cookies } of mods) {
      const s = new root.Session({ maxConns: c, maxConnsPerHost: c, proxyResolver: null, idleTimeout: 600_000, features: [new cookies.CookieJar()] });
      sessions.push(s);
      contenders[d] = () => s.sendAndRead(new root.Message("GET", url));
    }
    const r = await compareRounds(contenders, { concurrency: c, ms, rounds, warmupMs: 1500, warmupRequests: 5000 });
    printRoundsTable(`round trips with a CookieJar (3 Set-Cookie per response), c=${c}`, r, dirs[0]);
    for (const s of sessions) await s.close();
  }
  // The jar alone (bench/cookies-jar.ts's jarOnly): setCookie + Cookie header, 2,000 cookies over 200 sites.
  const sites = Array.from({ length: 200 }, (_, i) => `https://www.site${i}.com/path/`);
  const contenders: Record<string, () => Promise<unknown>> = {};
  for (const { d, cookies } of mods) {
    const jar = new cookies.CookieJar();
    for (const [i, s] of sites.entries()) for (let k = 0; k < 10; k++) await jar.setCookie(s, `c${k}=${i}; Path=/; Max-Age=3600`);
    let i = 0;
    contenders[d] = async () => {
      const s = sites[i++ % sites.length];
      await jar.setCookie(s, `roll=${i}; Path=/`);
      return jar.getCookieHeader(s);
    };
  }
  const r = await compareRounds(contenders, { concurrency: 1, ms, rounds, warmupMs: 1500, warmupRequests: 20000 });
  printRoundsTable("jar only: set one cookie + build the Cookie header (ops)", r, dirs[0]);
} finally {
  child.disconnect();
}
