/**
 * Every way of sending through a credential session behaves the same, because its feature
 * is an ordinary feature on the session's one message runner: `http.send`, `http.sendAndRead`,
 * `http.fetch`, `http.websocketConnect` and the credential session's own shortcuts each
 * refresh once on a server-side ExpiredToken (atproto's 400 with a JSON body) and retry once.
 */
import assert from "node:assert/strict";
import { inspect } from "node:util";
import { afterEach, describe, it } from "node:test";
import { Message } from "../../src/http/message.js";
import { ApiKeySession, AtprotoSession } from "../../src/login/index.js";
import { DID, FakePds, HANDLE } from "./helpers/pds-server.js";

let pds: FakePds;
let s: AtprotoSession;

afterEach(async () => {
  await s?.close();
  await pds?.close();
});

async function loggedIn(): Promise<void> {
  pds = await new FakePds({ expiredStyle: "400-body" }).start();
  s = new AtprotoSession({ service: pds.entryway, sessionOptions: { proxyResolver: null } });
  const { accessJwt, refreshJwt } = pds.issue();
  await s.login({ sessionString: `${HANDLE}:::${DID}:::${accessJwt}:::${refreshJwt}:::${pds.pds}` });
  // The server now says ExpiredToken for the token we hold, although its exp is in the future:
  // only the answer's body tells.
  pds.expireAccessTokens();
}

const ping = () => new Message("GET", `${pds.pds}/xrpc/com.example.ping`);
const json = (b: Uint8Array) => JSON.parse(Buffer.from(b).toString("utf8")) as { ok: boolean };

const paths: Array<[string, () => Promise<boolean>]> = [
  ["http.send", async () => json(await (await s.http.send(ping())).bytes()).ok],
  ["http.sendAndRead", async () => json(await s.http.sendAndRead(ping())).ok],
  ["http.fetch", async () => ((await (await s.http.fetch(`${pds.pds}/xrpc/com.example.ping`)).json()) as { ok: boolean }).ok],
  ["send", async () => json(await (await s.send(ping())).bytes()).ok],
  ["sendAndRead", async () => json(await s.sendAndRead(ping())).ok],
  ["fetch", async () => ((await (await s.fetch(`${pds.pds}/xrpc/com.example.ping`)).json()) as { ok: boolean }).ok],
  [
    "http.websocketConnect",
    async () => {
      const conn = await s.http.websocketConnect(new Message("GET", `${pds.pds}/xrpc/com.example.subscribe`));
      const got = new Promise((r) => conn.once("message", r));
      await conn.send("x");
      const ok = (await got) === "echo:x";
      await conn.close();
      return ok;
    },
  ],
  [
    "websocketConnect",
    async () => {
      const conn = await s.websocketConnect(new Message("GET", `${pds.pds}/xrpc/com.example.subscribe`));
      await conn.close();
      return true;
    },
  ],
];

describe("credential sessions: every send path refreshes once on ExpiredToken and retries once", () => {
  for (const [name, run] of paths) {
    it(name, async () => {
      await loggedIn();
      const before = pds.refreshes;
      assert.equal(await run(), true);
      assert.equal(pds.refreshes - before, 1, "exactly one refresh");
      // A second call uses the new token: no further refresh.
      assert.equal(await run(), true);
      assert.equal(pds.refreshes - before, 1);
    });
  }

  it("a retried request that is still expired is handed back (one retry per message, not a loop)", async () => {
    await loggedIn();
    // Every token, including the refreshed one, is refused: the server is broken.
    const origIssue = pds.issue.bind(pds);
    pds.issue = (o) => {
      const t = origIssue(o);
      queueMicrotask(() => pds.expireAccessTokens());
      return t;
    };
    const msg = ping();
    const body = await s.http.sendAndRead(msg);
    assert.equal(msg.status, 400);
    assert.match(Buffer.from(body).toString(), /ExpiredToken/);
  });
});

describe("ApiKeySession.apiKey", () => {
  it("is the key used to log in, read-only, and never shown", async () => {
    const secret = "sk-test-1234567890-secret";
    const a = new ApiKeySession({ apiKey: secret, apiUrl: "http://127.0.0.1:9/api/" });
    try {
      assert.equal(a.apiKey, secret);
      assert.throws(() => {
        (a as unknown as { apiKey: string }).apiKey = "other";
      }, TypeError);
      assert.equal(Object.keys(a).includes("apiKey"), false);
      assert.doesNotMatch(inspect(a, { depth: 5 }), /sk-test/);
      assert.doesNotMatch(String(a), /sk-test/);
      assert.doesNotMatch(JSON.stringify(a), /sk-test/);
    } finally {
      await a.close();
    }
  });
});
