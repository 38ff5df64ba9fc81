/**
 * Helpers for the CLI tests: run `sessionkit` as a child process with its own
 * XDG_CONFIG_HOME, and local servers.
 *
 * The CLI runs as JavaScript compiled once per test file: every src/ file is transpiled
 * (not bundled, so the layout and the dynamic imports are those of dist/) with the esbuild
 * that tsx brings, into .tmp/. A child then starts about as fast as the built bin, where
 * running each child through tsx's loader costs ~60% more CPU. Without esbuild the
 * children run through tsx.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

const ROOT = join(import.meta.dirname, "../..");
const SRC_BIN = join(ROOT, "src/cli/bin.ts");

function tsFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) tsFiles(p, out);
    else if (name.endsWith(".ts") && !name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

async function compile(): Promise<string[]> {
  try {
    const esbuild = await import("esbuild");
    const outdir = join(ROOT, ".tmp", `cli-test-${process.pid}`);
    mkdirSync(outdir, { recursive: true });
    process.once("exit", () => rmSync(outdir, { recursive: true, force: true }));
    await esbuild.build({
      entryPoints: tsFiles(join(ROOT, "src")),
      outdir: join(outdir, "src"),
      outbase: join(ROOT, "src"),
      format: "esm",
      platform: "node",
      target: "node20",
      bundle: false,
      logLevel: "silent",
    });
    return [join(outdir, "src", relative(join(ROOT, "src"), SRC_BIN).replace(/\.ts$/, ".js"))];
  } catch {
    return ["--import", "tsx", SRC_BIN];
  }
}

/** Node arguments that start the CLI (compiled once per test file). */
const entry = compile();
export const cliEntry = (): Promise<string[]> => entry;

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
  stdoutBytes: Buffer;
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  input?: string;
  timeoutMs?: number;
}

/** A fresh config directory (XDG_CONFIG_HOME) per test, removed by the disposer. */
export function tempConfig(): { dir: string; env: Record<string, string>; [Symbol.dispose](): void } {
  const dir = mkdtempSync(join(tmpdir(), "sessionkit-cli-"));
  return {
    dir,
    env: { XDG_CONFIG_HOME: dir },
    [Symbol.dispose]() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function cli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const start = await entry;
  return new Promise((resolve, reject) => {
    const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: undefined, SESSIONKIT_PASSWORD: undefined, ...options.env };
    // No proxy from the test environment.
    for (const k of ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"])
      if (!(k in (options.env ?? {}))) delete env[k];
    const child = spawn(process.execPath, [...start, ...args], { env: env as NodeJS.ProcessEnv, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`sessionkit ${args.join(" ")} did not finish in time; stderr: ${Buffer.concat(err).toString()}`));
    }, options.timeoutMs ?? 60_000);
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(timer);
      const stdoutBytes = Buffer.concat(out);
      resolve({ status, stdout: stdoutBytes.toString("utf8"), stderr: Buffer.concat(err).toString("utf8"), stdoutBytes });
    });
    child.stdin.end(options.input ?? "");
  });
}

export interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface TestServer {
  url: string;
  port: number;
  seen: Seen[];
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void;

/** An http server on a loopback port that records what it saw. The default handler echoes the request as JSON. */
export async function startServer(
  handler: Handler = echo,
  create: (h: http.RequestListener) => http.Server = http.createServer,
): Promise<TestServer> {
  const seen: Seen[] = [];
  const server = create((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      handler(req, res, body);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  const close = async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return { url: `http://127.0.0.1:${port}`, port, seen, close, [Symbol.asyncDispose]: close };
}

export const echo: Handler = (req, res, body) => {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body: body.toString("utf8") }));
};
