/**
 * Issue 12 (1): no frame may take the realtime server down. Values nested deeper than
 * `maxValueDepth` close the session with VALUE_TOO_DEEP before they are parsed; answers
 * and pushes that cannot be encoded become INVALID_VALUE errors, never an unhandled
 * rejection. The server runs in a child process so that a crash shows as its exit.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { WebSocket } from "ws";
import { CloseReason, closeCodeOf, RealtimeSession, SUBPROTOCOL, type JsonValue } from "../../src/realtime/index.js";

const fixture = fileURLToPath(new URL("./fixtures/echo-server.ts", import.meta.url));
const children = new Set<ChildProcess>();
after(() => {
  for (const c of children) c.kill("SIGKILL");
});

async function spawnServer(env: Record<string, string> = {}): Promise<{ proc: ChildProcess; url: string; stderr: () => string }> {
  const proc = spawn(process.execPath, ["--import", "tsx", fixture], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  children.add(proc);
  let err = "";
  proc.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    proc.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /LISTENING (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    proc.once("exit", (code) => reject(new Error(`server exited with ${code} before listening: ${err}`)));
  });
  return { proc, url: `ws://127.0.0.1:${port}/realtime`, stderr: () => err };
}

/** One server with the default limits, shared by the tests that do not need another. */
let shared: ReturnType<typeof spawnServer> | undefined;
const defaultServer = () => (shared ??= spawnServer());

const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);

/** A raw client past the handshake, and every frame and the close it gets. */
async function rawSession(url: string) {
  const ws = new WebSocket(url, [SUBPROTOCOL]);
  ws.on("error", () => {});
  const frames: string[] = [];
  const closed = new Promise<[number, string]>((r) => ws.once("close", (code, reason) => r([code, reason.toString()])));
  const welcomed = new Promise<void>((resolve) =>
    ws.on("message", (d) => {
      frames.push(d.toString());
      if (frames.length === 1) resolve();
    }),
  );
  await new Promise((r) => ws.once("open", r));
  ws.send(JSON.stringify({ t: "hello", v: 1, principal: "", credentials: "AAA=", properties: {} }));
  await welcomed;
  return { ws, frames, closed };
}

async function assertServes(url: string): Promise<void> {
  await using next = await new RealtimeSession(url, { reconnect: false }).connect();
  assert.deepEqual(await next.request("echo", { still: ["here"] }), { still: ["here"] });
}

test("10,000 nested arrays sent to an echo handler close that session with VALUE_TOO_DEEP; the process lives and serves the next client", async () => {
  const server = await defaultServer();
  const { ws, closed } = await rawSession(server.url);
  const text = `{"t":"q","s":1,"p":"echo","d":${nested(10_000)}}`;
  assert.ok(text.length < 1024 * 1024); // well under maxMessageSize: only the depth refuses it
  ws.send(text);
  const [code, reason] = await closed;
  // First of all: the process is still there and serves.
  await assertServes(server.url);
  assert.equal(server.proc.exitCode, null, server.stderr());
  assert.deepEqual([code, reason], [4017, "VALUE_TOO_DEEP"]);
  assert.equal(closeCodeOf(CloseReason.VALUE_TOO_DEEP), 4017);
  // In the hello too, and on a one-way message.
  for (const [first, expected] of [
    [`{"t":"hello","v":1,"principal":"","credentials":"AAA=","properties":${nested(5000)}}`, CloseReason.VALUE_TOO_DEEP],
  ] as const) {
    const raw = new WebSocket(server.url, [SUBPROTOCOL]);
    raw.on("error", () => {});
    await new Promise((r) => raw.once("open", r));
    const done = new Promise<number>((r) => raw.once("close", (code) => r(code)));
    raw.send(first);
    assert.equal(await done, closeCodeOf(expected));
  }
  const one = await rawSession(server.url);
  one.ws.send(`{"t":"m","s":1,"p":"echo","d":${nested(10_000)}}`);
  assert.equal((await one.closed)[0], closeCodeOf(CloseReason.VALUE_TOO_DEEP));
  assert.equal(server.proc.exitCode, null, server.stderr());
  await assertServes(server.url);
  // Exactly at the limit is accepted (64 inside the value).
  await using client = await new RealtimeSession(server.url, { reconnect: false }).connect();
  const atLimit = JSON.parse(nested(64)) as JsonValue;
  assert.deepEqual(await client.request("echo", atLimit), atLimit);
  assert.equal(server.proc.exitCode, null, server.stderr());
});

test("an answer that cannot be encoded is an INVALID_VALUE error answer, even without a depth limit; the session and the process carry on", async () => {
  // A depth limit far above what the stack can encode: the answer path must hold by itself.
  const server = await spawnServer({ MAX_DEPTH: "1000000" });
  const { ws, frames, closed } = await rawSession(server.url);
  ws.send(`{"t":"q","s":1,"p":"echo","d":${nested(10_000)}}`);
  ws.send(`{"t":"q","s":2,"p":"echo","d":"after"}`);
  const deadline = Date.now() + 10_000;
  while (frames.filter((f) => f.includes('"t":"r"')).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  const answers = frames
    .filter((f) => f.includes('"t":"r"'))
    .map((f) => JSON.parse(f) as { c: number; d?: unknown; e?: { code: string; message: string } });
  assert.equal(answers[0]?.c, 1);
  assert.equal(answers[0]?.e?.code, "INVALID_VALUE");
  assert.match(answers[0]!.e!.message, /answer cannot be sent/);
  assert.deepEqual([answers[1]?.c, answers[1]?.d], [2, "after"]);
  ws.close(closeCodeOf(CloseReason.CLOSED_BY_CLIENT));
  await closed;

  await using client = await new RealtimeSession(server.url, { reconnect: false }).connect();
  await assert.rejects(client.request("deep", null), { name: "RemoteHandlerError", code: "INVALID_VALUE" });
  await assert.rejects(client.request("bigint", null), { name: "RemoteHandlerError", code: "INVALID_VALUE" });
  // A push the server cannot encode is refused to the application that pushed it.
  assert.equal(await client.request("push-deep", null), "refused: INVALID_VALUE");
  assert.equal(await client.request("echo", 1), 1);
  assert.equal(server.proc.exitCode, null, server.stderr());
});

test("a client cannot send a value it cannot encode: INVALID_VALUE, nothing sent, the session carries on", async () => {
  const server = await defaultServer();
  await using client = await new RealtimeSession(server.url, { reconnect: false }).connect();
  const cycle: Record<string, unknown> = {};
  cycle.self = cycle;
  assert.throws(() => client.send("echo", cycle as never), { code: "INVALID_VALUE" });
  await assert.rejects(client.request("echo", 1n as never), { code: "INVALID_VALUE" });
  assert.equal(await client.request("echo", "ok"), "ok");
});
