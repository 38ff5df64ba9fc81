/** The atproto profile against a local PDS: login, PDS endpoint, session strings, events, logout. */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { inspect } from "node:util";
import { afterEach, beforeEach, describe, it } from "node:test";
import { Logger, LoggerLogLevel } from "../../src/features/logger.js";
import { Message } from "../../src/http/message.js";
import {
  AtprotoSession,
  InvalidSessionStringError,
  LoginFailedError,
  NotLoggedInError,
  RateLimitedError,
  SessionChange,
  type SessionEventName,
} from "../../src/login/index.js";
import { DID, FakePds, HANDLE, PASSWORD, type PdsOptions } from "./helpers/pds-server.js";

let pds: FakePds;
let s: AtprotoSession;

async function setup(opts: PdsOptions = {}): Promise<void> {
  pds = await new FakePds(opts).start();
  s = new AtprotoSession({ service: pds.entryway, sessionOptions: { proxyResolver: null, maxConnsPerHost: 8 } });
}

afterEach(async () => {
  await s?.close();
  await pds?.close();
});

describe("atproto: login and the PDS endpoint", () => {
  beforeEach(() => setup());

  it("logs in at the entryway, then talks to the PDS named in the DID document", async () => {
    const events: Array<[SessionEventName, SessionChange]> = [];
    s.onSessionChange((e, c) => {
      events.push([e, c]);
    });
    assert.equal(s.loggedIn, false);
    await s.login({ identifier: HANDLE, password: PASSWORD });
    assert.equal(s.loggedIn, true);
    assert.equal(s.did, DID);
    assert.equal(s.handle, HANDLE);
    assert.equal(s.pdsEndpoint, pds.pds);
    assert.notEqual(pds.pds, pds.entryway);
    assert.deepEqual(
      events.map(([e]) => e),
      ["CREATE"],
    );
    assert.equal(events[0][1].sessionString, s.exportSessionString());
    assert.deepEqual(events[0][1].info, { handle: HANDLE, did: DID, pdsEndpoint: pds.pds });

    const answer = await s.get<{ ok: boolean; did: string }>("com.example.ping");
    assert.deepEqual([answer.ok, answer.did], [true, DID]);
    const posted = await s.post<{ body: string }>("com.example.create", { text: "hi" });
    assert.equal(posted.body, JSON.stringify({ text: "hi" }));
    assert.deepEqual(pds.hits, { entryway: 0, pds: 2 });
  });

  it("fetch and send carry the credentials too", async () => {
    await s.login({ identifier: HANDLE, password: PASSWORD });
    const res = await s.fetch(`${pds.pds}/xrpc/com.example.ping`);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { did: string }).did, DID);
    const msg = new Message("GET", `${pds.pds}/xrpc/com.example.ping`);
    const body = await s.send(msg);
    assert.equal(msg.status, 200);
    assert.equal((await body.json<{ ok: boolean }>()).ok, true);
    // Straight through the HTTP session as well: the feature is installed there.
    const raw = new Message("GET", `${pds.pds}/xrpc/com.example.ping`);
    await s.http.sendAndRead(raw);
    assert.equal(raw.status, 200);
  });

  it("never sends the token to another origin", async () => {
    let seen: string | undefined = "unset";
    const other = http.createServer((req, res) => {
      seen = req.headers.authorization;
      res.end("ok");
    });
    await new Promise<void>((r) => other.listen(0, "127.0.0.1", r));
    try {
      await s.login({ identifier: HANDLE, password: PASSWORD });
      const res = await s.fetch(`http://127.0.0.1:${(other.address() as AddressInfo).port}/`);
      assert.equal(await res.text(), "ok");
      assert.equal(seen, undefined);
    } finally {
      other.closeAllConnections();
      await new Promise<void>((r) => other.close(() => r()));
    }
  });

  it("a request before login is refused with NotLoggedInError", async () => {
    await assert.rejects(s.get("com.example.ping"), (e: unknown) => e instanceof NotLoggedInError && e.code === "NOT_LOGGED_IN");
    assert.equal(pds.requests, 0);
    assert.throws(() => s.exportSessionString(), NotLoggedInError);
  });

  it("wrong credentials give LoginFailedError without the password in it", async () => {
    await assert.rejects(s.login({ identifier: HANDLE, password: "hunter2-wrong" }), (e: unknown) => {
      assert.ok(e instanceof LoginFailedError);
      assert.equal(e.code, "LOGIN_FAILED");
      assert.equal(e.status, 401);
      assert.equal(e.serverError, "AuthenticationRequired");
      assert.ok(!e.message.includes("hunter2") && !inspect(e).includes("hunter2"), e.message);
      return true;
    });
    assert.equal(s.loggedIn, false);
  });

  it("logout deletes the session on the PDS and emits LOGOUT", async () => {
    const events: Array<[string, string | null]> = [];
    await s.login({ identifier: HANDLE, password: PASSWORD });
    s.onSessionChange((e, c) => {
      events.push([e, c.sessionString]);
    });
    await s.logout();
    assert.equal(pds.deletes, 1);
    assert.deepEqual(events, [["LOGOUT", null]]);
    assert.equal(s.loggedIn, false);
    // The old PDS is still recognised: a request there is refused, not sent bare.
    const before = pds.requests;
    await assert.rejects(s.get("com.example.ping"), NotLoggedInError);
    assert.equal(pds.requests, before);
    await assert.rejects(s.logout(), NotLoggedInError);
  });
});

describe("atproto: session strings", () => {
  beforeEach(() => setup());

  it("imports a Python SDK string (five fields) without a network round trip", async () => {
    const { accessJwt, refreshJwt } = pds.issue();
    const events: string[] = [];
    s.onSessionChange((e) => {
      events.push(e);
    });
    const python = `${HANDLE}:::${DID}:::${accessJwt}:::${refreshJwt}:::${pds.pds}`;
    await s.login({ sessionString: python });
    assert.deepEqual(events, ["IMPORT"]);
    assert.equal(pds.loginAttempts + pds.refreshAttempts + pds.requests, 0);
    assert.equal((await s.get<{ ok: boolean }>("com.example.ping")).ok, true);
    assert.equal(pds.logins, 0);
    // Ours is exactly that format, so the Python SDK can import it.
    assert.equal(s.exportSessionString(), python);
  });

  it("imports the older four-field form with https://bsky.social as its PDS", async () => {
    const { accessJwt, refreshJwt } = pds.issue();
    await s.login({ sessionString: `${HANDLE}:::${DID}:::${accessJwt}:::${refreshJwt}` });
    assert.equal(s.pdsEndpoint, "https://bsky.social");
    assert.equal(s.exportSessionString().split(":::").length, 5);
  });

  it("refuses malformed strings with INVALID_SESSION_STRING and never quotes them", async () => {
    const secret = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.c2lnbmF0dXJl";
    for (const bad of ["", "just text", `a:::b:::${secret}`, `h:::notadid:::${secret}:::${secret}`, "sessionkit:1:e30", "sessionkit:9:e30"]) {
      await assert.rejects(s.login({ sessionString: bad }), (e: unknown) => {
        assert.ok(e instanceof InvalidSessionStringError, bad);
        assert.equal(e.code, "INVALID_SESSION_STRING");
        assert.ok(!e.message.includes(secret));
        return true;
      });
    }
    assert.equal(s.loggedIn, false);
  });

  it("a string exported here works in a new process without a login", async () => {
    await s.login({ identifier: HANDLE, password: PASSWORD });
    const exported = s.exportSessionString();
    const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("./fixtures/child-import.ts", import.meta.url))], {
      env: { ...process.env, SK_SESSION: exported, SK_SERVICE: pds.entryway },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d));
    child.stderr.on("data", (d: Buffer) => (err += d));
    const code = await new Promise<number | null>((r) => child.once("close", r));
    assert.equal(code, 0, err);
    assert.deepEqual(JSON.parse(out), { ok: true, did: DID, events: ["IMPORT"], pds: pds.pds });
    assert.equal(pds.logins, 1, "only the parent logged in");
    assert.equal(pds.hits.pds, 1, "the child's request reached the PDS");
  });
});

describe("atproto: login rate limits", () => {
  it("honours Retry-After on 429 and refuses to retry sooner without touching the network", async () => {
    await setup({ loginLimit: 1 });
    await s.login({ identifier: HANDLE, password: PASSWORD });
    await assert.rejects(s.login({ identifier: HANDLE, password: PASSWORD }), (e: unknown) => {
      assert.ok(e instanceof RateLimitedError);
      assert.equal(e.code, "RATE_LIMITED");
      assert.equal(e.retryAfterMs, 30_000);
      return true;
    });
    assert.equal(pds.loginAttempts, 2);
    for (let i = 0; i < 20; i++) {
      await assert.rejects(
        s.login({ identifier: HANDLE, password: PASSWORD }),
        (e: unknown) => e instanceof RateLimitedError && e.retryAfterMs > 0 && e.retryAfterMs <= 30_000,
      );
    }
    assert.equal(pds.loginAttempts, 2, "no request while the service asked us to wait");
    // The session that exists keeps working.
    assert.equal((await s.get<{ ok: boolean }>("com.example.ping")).ok, true);
  });

  it("honours ratelimit-reset (epoch seconds) when there is no Retry-After", async () => {
    await setup({ loginLimit: 0, rateLimitStyle: "ratelimit-epoch" });
    await assert.rejects(
      s.login({ identifier: HANDLE, password: PASSWORD }),
      (e: unknown) => e instanceof RateLimitedError && e.retryAfterMs > 290_000 && e.retryAfterMs <= 300_000,
    );
    await assert.rejects(s.login({ identifier: HANDLE, password: PASSWORD }), RateLimitedError);
    assert.equal(pds.loginAttempts, 1);
  });
});

describe("atproto: secrets stay secret", () => {
  beforeEach(() => setup());

  it("toString, inspect, events, errors and Logger output show no password, token or session string", async () => {
    const lines: string[] = [];
    s.http.addFeature(new Logger({ level: LoggerLogLevel.BODY, printer: (_l, d, line) => lines.push(`${d} ${line}`) }));
    const changes: SessionChange[] = [];
    s.onSessionChange((_e, c) => {
      changes.push(c);
    });
    await s.login({ identifier: HANDLE, password: PASSWORD });
    await s.get("com.example.ping");
    await s.refresh();
    pds.expireAccessTokens();
    await s.get("com.example.ping");
    const exported = s.exportSessionString();
    const [, , access, refresh] = exported.split(":::");
    const secrets = [PASSWORD, access, refresh, exported, ...changes.map((c) => c.sessionString!)];
    for (const c of changes) for (const t of c.sessionString!.split(":::").slice(2, 4)) secrets.push(t);
    const shown = [
      String(s),
      inspect(s, { depth: 10, showHidden: true }),
      JSON.stringify(s),
      JSON.stringify(s.info),
      ...changes.map((c) => inspect(c) + JSON.stringify(c) + String(c)),
      lines.join("\n"),
    ];
    assert.ok(lines.length > 0, "the logger printed");
    assert.ok(
      lines.some((l) => l.includes("Authorization")),
      "the logger showed the header name",
    );
    for (const text of shown) for (const secret of secrets) assert.ok(!text.includes(secret), `leaked in: ${text.slice(0, 300)}`);
    assert.match(String(s), /AtprotoSession \{ atproto, logged in/);
  });
});
