/**
 * CookieJar benchmarks. Run: npx tsx bench/cookies-jar.ts [--quick]
 *  1. Round trips that store and send cookies, against a server in another process:
 *     Session + CookieJar vs got + tough-cookie (got's cookieJar option) vs undici.request
 *     with tough-cookie by hand; and Session without a jar as the baseline.
 *  2. The jar alone: setCookie + Cookie header lookup, 2,000 cookies over 200 sites, ours
 *     vs a bare tough-cookie CookieJar (what the guard layer — caps, events — costs).
 * Fairness: one server process and the same number of keep-alive connections for every
 * client; each contender is warmed up first; contenders then run in interleaved rounds (A B C,
 * A B C, …) so machine noise hits them alike; medians and ratios (ours / peer) are printed.
 * The by-hand peer is tough-cookie used well: one parsed URL object, no re-parsing per call.
 */
import { fork } from "node:child_process";
import http from "node:http";
import { fileURLToPath } from "node:url";
import got from "got";
import { CookieJar as ToughJar } from "tough-cookie";
import { Agent, request } from "undici";
import { Message, Session } from "../src/index.js";
import { CookieJar } from "../src/features/cookies/index.js";
import { compare, printTable } from "./lib/measure.js";

const quick = process.argv.includes("--quick");
const child = fork(fileURLToPath(new URL("./cookies-server.ts", import.meta.url)), [], {
  execArgv: ["--import", "tsx"],
  stdio: ["ignore", "inherit", "inherit", "ipc"],
});
const port = await new Promise<number>((resolve) => child.once("message", (m: { port: number }) => resolve(m.port)));
const url = `http://127.0.0.1:${port}/app/page`;
const parsedUrl = new URL(url);
const timing = quick ? { ms: 500, rounds: 3, warmupMs: 300 } : { ms: 2000, rounds: 5, warmupMs: 1000 };

async function roundTrips(concurrency: number): Promise<void> {
  const conns = concurrency;
  const ours = new Session({ maxConns: conns, maxConnsPerHost: conns, proxyResolver: null, features: [new CookieJar()] });
  const bare = new Session({ maxConns: conns, maxConnsPerHost: conns, proxyResolver: null });
  const gotJar = new ToughJar();
  const gotClient = got.extend({ agent: { http: new http.Agent({ keepAlive: true, maxSockets: conns }) }, retry: { limit: 0 }, cookieJar: gotJar });
  const handJar = new ToughJar();
  const agent = new Agent({ connections: conns, pipelining: 1, keepAliveTimeout: 60_000 });
  const medians = await compare(
    {
      "sessionkit + CookieJar": () => ours.sendAndRead(new Message("GET", url)),
      "got + tough-cookie": () => gotClient(url).buffer(),
      "undici + tough-cookie by hand": async () => {
        const cookie = await handJar.getCookieString(parsedUrl);
        const res = await request(url, { dispatcher: agent, headers: cookie ? { cookie } : {} });
        const set = res.headers["set-cookie"];
        for (const c of Array.isArray(set) ? set : set ? [set] : []) await handJar.setCookie(c, parsedUrl, { ignoreError: true });
        return res.body.arrayBuffer();
      },
      "sessionkit, no jar (baseline)": () => bare.sendAndRead(new Message("GET", url)),
    },
    { concurrency, ...timing },
  );
  printTable(`round trips with cookies, concurrency ${concurrency}`, medians, "sessionkit + CookieJar", [
    "got + tough-cookie",
    "undici + tough-cookie by hand",
    "sessionkit, no jar (baseline)",
  ]);
  await ours.close();
  await bare.close();
  await agent.close();
}

async function jarOnly(): Promise<void> {
  const sites = Array.from({ length: 200 }, (_, i) => `https://www.site${i}.com/path/`);
  const ours = new CookieJar();
  const tough = new ToughJar();
  for (const [i, s] of sites.entries()) {
    for (let k = 0; k < 10; k++) {
      await ours.setCookie(s, `c${k}=${i}; Path=/; Max-Age=3600`);
      await tough.setCookie(`c${k}=${i}; Path=/; Max-Age=3600`, s);
    }
  }
  let i = 0;
  let j = 0;
  const medians = await compare(
    {
      "sessionkit CookieJar": async () => {
        const s = sites[i++ % sites.length];
        await ours.setCookie(s, `roll=${i}; Path=/`);
        return ours.getCookieHeader(s);
      },
      "tough-cookie CookieJar": async () => {
        const s = sites[j++ % sites.length];
        await tough.setCookie(`roll=${j}; Path=/`, s);
        return tough.getCookieString(s);
      },
    },
    { concurrency: 1, ...timing },
  );
  printTable("jar only: set one cookie + build the Cookie header (2,000 cookies, 200 sites), ops/s", medians, "sessionkit CookieJar", [
    "tough-cookie CookieJar",
  ]);
}

try {
  await roundTrips(1);
  await roundTrips(32);
  await jarOnly();
} finally {
  child.disconnect();
}
