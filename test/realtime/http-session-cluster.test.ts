/**
 * Issue 16: realtime sessions bound to the `sessionkit/server` session, across two
 * processes sharing Redis (RedisStore with notifications for the server sessions, the
 * Redis backplane for the realtime ones): log out over HTTP on node A, and the realtime
 * session connected to node B closes within a second with AUTHENTICATION_REVOKED.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { createClient } from "redis";
import { Session } from "../../src/http/session.js";
import { CloseReason, RealtimeSession } from "../../src/realtime/index.js";
import { redisAvailability } from "../helpers/redis.js";

const redis = await redisAvailability();
const skip = redis.skip;
const prefix = `sessionkit:test:rtbind:${randomBytes(6).toString("hex")}:`;
const secret = randomBytes(32).toString("hex");
const fixture = fileURLToPath(new URL("./fixtures/http-bound-node.ts", import.meta.url));
const children = new Set<ChildProcess>();

after(async () => {
  for (const c of children) c.kill("SIGKILL");
  if (skip) return;
  const client = createClient({ url: redis.url });
  await client.connect();
  for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) if (keys.length) await client.del(keys);
  await client.close();
});

async function spawnNode(): Promise<string> {
  const proc = spawn(process.execPath, ["--import", "tsx", fixture], {
    env: { ...process.env, REDIS_URL: redis.url, PREFIX: prefix, SECRET: secret },
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.add(proc);
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    proc.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /LISTENING (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    proc.once("exit", (code) => reject(new Error(`node exited with ${code} before listening`)));
  });
  return `127.0.0.1:${port}`;
}

/** Logs in over HTTP and returns the session cookie (`name=value`). */
async function login(host: string, user: string): Promise<string> {
  const res = await fetch(`http://${host}/login?user=${user}`);
  assert.equal(res.status, 200);
  const cookie = res.headers.getSetCookie()[0]?.split(";")[0];
  assert.ok(cookie, "a session cookie");
  return cookie;
}

function withCookie(cookie: string): Session {
  return new Session({
    features: [
      {
        beforeSend(msg) {
          msg.requestHeaders.set("Cookie", cookie);
        },
      },
    ],
  });
}

function closedWithin(session: RealtimeSession): Promise<{ reason: CloseReason; ms: number }> {
  const start = performance.now();
  return new Promise((resolve) => session.once("closed", (reason) => resolve({ reason, ms: performance.now() - start })));
}

test("log out over HTTP on node A: the realtime session on node B closes within a second (AUTHENTICATION_REVOKED)", { skip }, async () => {
  const [a, b] = await Promise.all([spawnNode(), spawnNode()]);
  const cookie = await login(a, "alice");
  await using http = withCookie(cookie);
  const rt = await new RealtimeSession(`ws://${b}/realtime`, { httpSession: http, reconnect: false }).connect();
  assert.equal(rt.properties.$Owner, "alice");
  assert.equal(rt.properties.$Principal, "alice");
  // Another user's session on B is not touched.
  await using otherHttp = withCookie(await login(b, "bob"));
  const bob = await new RealtimeSession(`ws://${b}/realtime`, { httpSession: otherHttp, reconnect: false }).connect();

  const closed = closedWithin(rt);
  const out = await fetch(`http://${a}/logout`, { headers: { cookie } });
  assert.equal(await out.text(), "out");
  const { reason, ms } = await closed;
  assert.equal(reason, CloseReason.AUTHENTICATION_REVOKED);
  assert.equal(rt.state, "CLOSED_BY_SERVER");
  assert.ok(ms < 1000, `closed after ${Math.round(ms)} ms`);
  assert.ok(!bob.isClosed);

  // "Log out all my devices": revokeOwner on A reaches bob's sessions on B.
  const bobClosed = closedWithin(bob);
  assert.equal(await (await fetch(`http://${a}/revoke?user=bob`)).text(), "1");
  assert.equal((await bobClosed).reason, CloseReason.AUTHENTICATION_REVOKED);

  // And the logged-out cookie opens nothing any more, on either node.
  for (const host of [a, b]) {
    await assert.rejects(new RealtimeSession(`ws://${host}/realtime`, { httpSession: http, reconnect: false }).connect(), { code: "ACCESS_DENIED" });
  }
});
