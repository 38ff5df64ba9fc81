/**
 * Runs every benchmark one after another, each in its own process (so one's JIT state,
 * sockets and memory do not colour the next), and passes the arguments on (e.g. --quick).
 * Run: npm run bench [-- --quick] [-- name ...]   (npm run bench builds dist/ first)
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const all = [
  "http-client",
  "http2",
  "auth-digest",
  "cache-hit",
  "cookies-jar",
  "login-refresh",
  "login-fleet",
  "server-middleware",
  "realtime",
  "realtime-scale",
  "cli-startup",
  "reliability",
];
const args = process.argv.slice(2);
const flags = args.filter((a) => a.startsWith("--"));
const picked = args.filter((a) => !a.startsWith("--"));
const unknown = picked.filter((n) => !all.includes(n));
if (unknown.length > 0) {
  console.error(`Unknown benchmark(s): ${unknown.join(", ")}. Known: ${all.join(", ")}`);
  process.exit(2);
}
let failed = 0;
for (const name of picked.length > 0 ? picked : all) {
  console.log(`\n# bench/${name}.ts ${flags.join(" ")}`);
  const file = fileURLToPath(new URL(`./${name}.ts`, import.meta.url));
  const r = spawnSync(process.execPath, ["--expose-gc", "--import", "tsx", file, ...flags], { stdio: "inherit" });
  if (r.status !== 0) {
    failed++;
    console.error(`bench/${name}.ts exited with ${r.status ?? r.signal}`);
  }
}
process.exit(failed > 0 ? 1 : 0);
