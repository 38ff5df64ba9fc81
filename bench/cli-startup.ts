/**
 * Start-up of the `sessionkit` command: wall time of `sessionkit GET http://127.0.0.1:PORT/`
 * against a local server, from process start to exit (median of 20 runs after 3 warm-ups),
 * next to `curl` and HTTPie (`http`) where installed and a bare `node -e 0` (the floor any
 * Node CLI pays). Runs the compiled bin (dist/src/cli/bin.js: run `npm run build` first, as
 * `npm run bench` does). Contenders run interleaved, one run of each per round, so a busy
 * machine slows them alike. Issue target: ours ≤ 150 ms.
 *
 *   tsx bench/cli-startup.ts [--quick] [--runs N]
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const runsArg = args.indexOf("--runs");
const RUNS = runsArg !== -1 ? Number(args[runsArg + 1]) : quick ? 7 : 20;
const WARMUP = 3;
const TARGET_MS = 150;

const bin = fileURLToPath(new URL("../dist/src/cli/bin.js", import.meta.url));
if (!existsSync(bin)) {
  console.error(`${bin} is missing: run npm run build first`);
  process.exit(1);
}

function which(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

const server = http.createServer((_req, res) => {
  res.writeHead(200, { "content-type": "application/json" });
  res.end('{"ok":true}');
});
await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
const config = mkdtempSync(join(tmpdir(), "sessionkit-bench-cli-"));
const env = { ...process.env, XDG_CONFIG_HOME: config, NO_COLOR: "1", HTTP_PROXY: "", HTTPS_PROXY: "", ALL_PROXY: "" };

interface Contender {
  name: string;
  cmd: string;
  args: string[];
}

const contenders: Contender[] = [
  { name: "sessionkit GET URL", cmd: process.execPath, args: [bin, "GET", url] },
  { name: "sessionkit GET URL --session", cmd: process.execPath, args: [bin, "GET", url, "--session", "bench"] },
  { name: "node -e 0 (floor)", cmd: process.execPath, args: ["-e", "0"] },
];
if (which("curl")) contenders.push({ name: "curl -s URL", cmd: "curl", args: ["-s", url] });
else console.log("curl: not installed");
if (which("http")) contenders.push({ name: "http GET URL (HTTPie)", cmd: "http", args: ["--ignore-stdin", "GET", url] });
else console.log("HTTPie (http): not installed");

// The server runs in this process: spawnSync would block it, so each run is a child we wait for asynchronously.
function runOnce(c: Contender): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    import("node:child_process").then(({ spawn }) => {
      const child = spawn(c.cmd, c.args, { env, stdio: ["ignore", "pipe", "pipe"] });
      let err = "";
      child.stdout.resume();
      child.stderr.on("data", (d: Buffer) => (err += d));
      child.on("error", reject);
      child.on("close", (code) => {
        const ms = performance.now() - start;
        if (code !== 0) reject(new Error(`${c.name} exited with ${code}: ${err}`));
        else resolve(ms);
      });
    }, reject);
  });
}

const times = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
try {
  for (let i = 0; i < WARMUP; i++) for (const c of contenders) await runOnce(c);
  for (let i = 0; i < RUNS; i++) for (const c of contenders) times.get(c.name)!.push(await runOnce(c));
} finally {
  server.close();
  rmSync(config, { recursive: true, force: true });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const ours = median(times.get(contenders[0].name)!);
console.log(`\nCLI start-up, ${url} (median of ${RUNS} runs after ${WARMUP} warm-ups, Node ${process.versions.node})`);
console.log("| command | median ms | min ms | ours / this |");
console.log("| --- | ---: | ---: | ---: |");
for (const c of contenders) {
  const xs = times.get(c.name)!;
  const m = median(xs);
  console.log(`| ${c.name} | ${m.toFixed(1)} | ${Math.min(...xs).toFixed(1)} | ${(ours / m).toFixed(2)}× |`);
}
const floor = median(times.get("node -e 0 (floor)")!);
console.log(
  `\nsessionkit GET: ${ours.toFixed(1)} ms (${(ours - floor).toFixed(1)} ms above a bare node start); target ≤ ${TARGET_MS} ms: ${ours <= TARGET_MS ? "met" : "NOT met"}`,
);
