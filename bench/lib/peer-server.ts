/**
 * A server for client benchmarks that is not the bottleneck, so req/s and CPU per request
 * measure the client. nginx when it is installed (BENCH_NGINX=/path overrides the binary,
 * BENCH_NGINX=0 skips it), started from here with a config of its own in a tmp dir and
 * stopped at the end; else bench/lib/canned-server.mjs, a raw `net` server in its own
 * process that writes one canned response per request head.
 *
 * Both answer GET /ok with `200 "ok"` (Content-Length 2, no Content-Encoding) and keep
 * connections open indefinitely, so every client reuses the keep-alive connections it
 * opened in warm-up. `accepted()` tells how many connections the server accepted so far
 * (nginx through stub_status), to check that no client opened more than it was given.
 */
import { execFileSync, fork, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export interface PeerServer {
  kind: "nginx" | "net";
  /** http://127.0.0.1:port/ok */
  url: string;
  origin: string;
  /**
   * Connections accepted and requests answered so far (nginx: from stub_status, counting the
   * probe's own connection and request), and the server's CPU time in µs (nginx: its worker,
   * from /proc, 10 ms resolution; NaN where /proc is missing).
   */
  stats(): Promise<{ accepted: number; requests: number; cpuUs: number }>;
  stop(): Promise<void>;
}

function nginxBinary(): string | null {
  const env = process.env.BENCH_NGINX;
  if (env === "0") return null;
  for (const p of env ? [env] : ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx"]) {
    if (existsSync(p)) return p;
  }
  return null;
}

/** A loopback port nobody listens on right now (another process could take it before nginx does: rare, and fatal only to this run). */
async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

/** CPU µs of nginx's worker processes (the children of `master`), from /proc; NaN when unreadable. */
function workerCpuUs(master: number | undefined): number {
  try {
    const kids = readFileSync(`/proc/${master}/task/${master}/children`, "utf8").trim().split(/\s+/).filter(Boolean);
    let ticks = 0;
    for (const pid of kids) {
      // Fields after the command (which is in parentheses): utime and stime are the 12th and 13th.
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(f[11]) + Number(f[12]);
    }
    return kids.length > 0 ? (ticks * 1e6) / CLOCK_TICKS : NaN;
  } catch {
    return NaN;
  }
}
/** USER_HZ: 100 on Linux for every common architecture. */
const CLOCK_TICKS = 100;

async function waitForPort(port: number, child: ChildProcess, errorLog: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: ${errorLog()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => {
        s.destroy();
        resolve(true);
      });
      s.on("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nginx did not listen on ${port}: ${errorLog()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * @param cpu pin nginx's one worker to this CPU (worker_cpu_affinity), or undefined for no pinning.
 */
async function startNginx(bin: string, cpu: number | undefined): Promise<PeerServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "sessionkit-bench-nginx-"));
  const port = await freePort();
  const errorLog = path.join(dir, "error.log");
  const mask = cpu === undefined ? "" : `worker_cpu_affinity ${"1" + "0".repeat(cpu)};`;
  // Root-safe: when run as root the worker switches to `nobody`, which needs nothing from
  // the tmp dir (no temp files are written for `return`); pid, logs and temp paths all stay
  // in the tmp dir, and -e sends even the startup log there instead of /var/log/nginx.
  const conf = `
daemon off;
master_process on;
worker_processes 1;
${mask}
pid ${dir}/nginx.pid;
error_log ${errorLog} warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 100000000;
  keepalive_timeout 600s;
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location = /ok { gzip off; default_type text/plain; return 200 "ok"; }
    location = /nginx-status { stub_status; }
  }
}
`;
  const confPath = path.join(dir, "nginx.conf");
  writeFileSync(confPath, conf);
  const child = spawn(bin, ["-p", dir, "-e", errorLog, "-c", confPath], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const readLog = () => stderr + (existsSync(errorLog) ? readFileSync(errorLog, "utf8") : "");
  try {
    await waitForPort(port, child, readLog);
  } catch (err) {
    child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const origin = `http://127.0.0.1:${port}`;
  return {
    kind: "nginx",
    url: `${origin}/ok`,
    origin,
    stats: () =>
      new Promise((resolve, reject) => {
        http
          .get(`${origin}/nginx-status`, { agent: false }, (res) => {
            let text = "";
            res.on("data", (c: Buffer) => (text += c.toString()));
            res.on("end", () => {
              // "server accepts handled requests\n N N N"
              const m = /\n\s*(\d+)\s+\d+\s+(\d+)/.exec(text);
              resolve({ accepted: m ? Number(m[1]) : NaN, requests: m ? Number(m[2]) : NaN, cpuUs: workerCpuUs(child.pid) });
            });
          })
          .on("error", reject);
      }),
    stop: async () => {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGQUIT");
      const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function startNetServer(cpu: number | undefined): Promise<PeerServer> {
  const child = fork(fileURLToPath(new URL("./canned-server.mjs", import.meta.url)), [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  if (cpu !== undefined && child.pid !== undefined) {
    try {
      execFileSync("taskset", ["-a", "-p", "-c", String(cpu), String(child.pid)], { stdio: "ignore" });
    } catch {
      // taskset missing: unpinned
    }
  }
  const port = await new Promise<number>((resolve, reject) => {
    child.once("message", (m: { port: number }) => resolve(m.port));
    child.once("error", reject);
  });
  const origin = `http://127.0.0.1:${port}`;
  return {
    kind: "net",
    url: `${origin}/ok`,
    origin,
    stats: () =>
      new Promise((resolve) => {
        child.once("message", (m: { accepted: number; requests: number; cpuUs: number }) => resolve(m));
        child.send("stats");
      }),
    stop: async () => {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill();
      await exited;
    },
  };
}

/**
 * Pins this process (all its threads) to CPU 0 and returns the CPU the server should use,
 * when there are two or more CPUs and taskset works (BENCH_PIN=0 turns this off). On a
 * 2-core machine this keeps the server and the client from trading places between rounds.
 */
export function pinClient(): number | undefined {
  if (process.platform !== "linux" || os.availableParallelism() < 2 || process.env.BENCH_PIN === "0") return undefined;
  try {
    execFileSync("taskset", ["-a", "-p", "-c", "0", String(process.pid)], { stdio: "ignore" });
    return 1;
  } catch {
    return undefined;
  }
}

/** Undoes pinClient (children forked later, such as a Node server, would inherit CPU 0). */
export function unpinClient(): void {
  try {
    execFileSync("taskset", ["-a", "-p", "-c", `0-${os.availableParallelism() - 1}`, String(process.pid)], { stdio: "ignore" });
  } catch {
    // nothing was pinned
  }
}

export async function startPeerServer(serverCpu?: number): Promise<PeerServer> {
  const bin = nginxBinary();
  if (bin !== null) return startNginx(bin, serverCpu);
  return startNetServer(serverCpu);
}
