/**
 * Issue 16: realtime sessions bound to the `sessionkit/server` session of the same user,
 * tested here against a small fake of the two methods the RealtimeServer consumes
 * (readSession, onSessionEnded). The cross-process test on Redis with the real middleware
 * is in http-session-cluster.test.ts.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Session } from "../../src/http/session.js";
import { CloseReason, httpSessionRef, RealtimeSession, type HttpSessionEnded, type HttpSessionSource } from "../../src/realtime/index.js";
import { fastReconnect, startRelay, startServer, waitFor } from "./helpers.js";

class FakeHttpSessions implements HttpSessionSource {
  readonly live = new Map<string, { id: string; owner: string | undefined }>();
  readonly listeners = new Set<(e: HttpSessionEnded) => void>();
  failing = false;
  reads = 0;

  login(id: string, owner?: string): string {
    this.live.set(id, { id, owner });
    return `sid=${id}`;
  }

  async readSession(cookieHeader: string | undefined) {
    this.reads++;
    if (this.failing) throw new Error("store down");
    const m = /(?:^|;\s*)sid=([^;]+)/.exec(cookieHeader ?? "");
    return m ? this.live.get(m[1]!) : undefined;
  }

  onSessionEnded(listener: (e: HttpSessionEnded) => void) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  end(id: string, reason: HttpSessionEnded["reason"], owner?: string): void {
    const s = this.live.get(id);
    this.live.delete(id);
    for (const l of this.listeners) l({ id, owner: owner ?? s?.owner, reason });
  }
}

/** An HTTP session whose requests (the upgrade too) carry `cookie`. */
function withCookie(cookie: string | undefined): Session {
  return new Session({
    features: [
      {
        beforeSend(msg) {
          if (cookie) msg.requestHeaders.set("Cookie", cookie);
        },
      },
    ],
  });
}

test("an upgrade is authenticated by the server session cookie: id and owner become properties, no password is sent", async () => {
  const sessions = new FakeHttpSessions();
  const { server, url } = await startServer({ httpSessions: sessions });
  await using _server = server;
  await using noCookie = withCookie(undefined);
  await assert.rejects(new RealtimeSession(url, { reconnect: false, httpSession: noCookie }).connect(), { code: "ACCESS_DENIED" });
  await using forged = withCookie("sid=nobody");
  await assert.rejects(new RealtimeSession(url, { reconnect: false, httpSession: forged }).connect(), { code: "ACCESS_DENIED" });

  await using http = withCookie(`theme=dark; ${sessions.login("h1", "alice")}`);
  // The principal the client claims is not what counts: the server session's owner is.
  await using rt = await new RealtimeSession(url, { reconnect: false, httpSession: http, principal: "mallory" }).connect();
  const s = server.getSession(rt.sessionId!)!;
  assert.equal(s.principal, "alice");
  assert.equal(s.properties.$Principal, "alice");
  // The server session id is a credential: the property is a digest of it.
  assert.equal(s.properties.$HttpSession, httpSessionRef("h1"));
  assert.notEqual(httpSessionRef("h1"), "h1");
  assert.doesNotMatch(JSON.stringify(s.properties), /"h1"/);
  assert.equal(s.properties.$Owner, "alice");
  assert.deepEqual(rt.properties, s.properties);
  // The application can reach the sockets of one HTTP session.
  const got: unknown[] = [];
  rt.addHandler("news", (v) => {
    got.push(v);
  });
  assert.equal(await server.sendToFilter({ $HttpSession: httpSessionRef("h1") }, "news", "for h1"), 1);
  await waitFor(() => got.length === 1, "the push");
  // A session without an owner is anonymous.
  await using anonHttp = withCookie(sessions.login("h2"));
  await using anon = await new RealtimeSession(url, { reconnect: false, httpSession: anonHttp, principal: "x" }).connect();
  assert.equal(server.getSession(anon.sessionId!)!.principal, "");
  assert.equal(server.getSession(anon.sessionId!)!.properties.$Owner, "");
});

test("destroy, regenerate and revoke-owner close exactly the bound realtime sessions with AUTHENTICATION_REVOKED", async () => {
  const sessions = new FakeHttpSessions();
  const { server, url } = await startServer({ httpSessions: sessions });
  await using _server = server;
  const open = async (cookie: string) => new RealtimeSession(url, { reconnect: false, httpSession: withCookie(cookie) }).connect();
  const a1 = await open(sessions.login("a1", "alice"));
  const a1b = await open("sid=a1"); // a second tab on the same server session
  const a2 = await open(sessions.login("a2", "alice")); // alice on another device
  const b1 = await open(sessions.login("b1", "bob"));
  const c1 = await open(sessions.login("c1", "carol"));

  sessions.end("a1", "destroy");
  await waitFor(() => a1.isClosed && a1b.isClosed, "a1's realtime sessions to close");
  for (const s of [a1, a1b]) {
    assert.equal(s.state, "CLOSED_BY_SERVER");
    assert.equal(s.closeReason, CloseReason.AUTHENTICATION_REVOKED);
  }
  assert.ok(!a2.isClosed && !b1.isClosed && !c1.isClosed);

  sessions.end("b1", "regenerate");
  await waitFor(() => b1.isClosed, "b1 to close");
  assert.equal(b1.closeReason?.name, "AUTHENTICATION_REVOKED");

  // Revoking an owner reaches every session of that owner, whatever id the event names.
  sessions.end("not-a-live-one", "revoke-owner", "alice");
  await waitFor(() => a2.isClosed, "alice's other device to close");
  assert.equal(a2.closeReason, CloseReason.AUTHENTICATION_REVOKED);
  assert.ok(!c1.isClosed);
  assert.deepEqual(
    [...server.sessions.values()].map((s) => s.properties.$HttpSession),
    [httpSessionRef("c1")],
  );
  await c1.close();
});

test("a client away when its server session ends learns AUTHENTICATION_REVOKED when it comes back; an expired one cannot resume either", async () => {
  const sessions = new FakeHttpSessions();
  const { server } = await startServer({ httpSessions: sessions });
  await using _server = server;
  const relay = await startRelay(Number(new URL(server.url!).port));
  try {
    const url = `ws://127.0.0.1:${relay.port}/realtime`;
    const away = await new RealtimeSession(url, { reconnect: fastReconnect, httpSession: withCookie(sessions.login("x1", "xavier")) }).connect();
    const expired = await new RealtimeSession(url, { reconnect: fastReconnect, httpSession: withCookie(sessions.login("x2", "xavier")) }).connect();
    away.send("ping", 1); // a session that spoke (the silent keep-alive would also end it)
    relay.freeze();
    relay.cut();
    await waitFor(() => [...server.sessions.values()].every((s) => s.state === "DISCONNECTED"), "the server to see both go");
    sessions.end("x1", "destroy"); // while away: closed here, the reason kept for the client
    sessions.live.delete("x2"); // expired in the store: no event, but no session either
    relay.thaw();
    await waitFor(() => away.isClosed && expired.isClosed, "both clients to learn it");
    assert.equal(away.closeReason, CloseReason.AUTHENTICATION_REVOKED);
    assert.equal(expired.closeReason, CloseReason.AUTHENTICATION_REVOKED);
    assert.equal(server.sessions.size, 0);
  } finally {
    await relay.close();
  }
});

test("a failing session store refuses the upgrade with INTERNAL_ERROR and reports it; close() stops listening", async () => {
  const sessions = new FakeHttpSessions();
  const { server, url } = await startServer({ httpSessions: sessions });
  const errors: Error[] = [];
  server.on("handler-error", (e) => errors.push(e));
  sessions.login("h", "u");
  sessions.failing = true;
  await using http = withCookie("sid=h");
  await assert.rejects(new RealtimeSession(url, { reconnect: false, httpSession: http }).connect(), { code: "INTERNAL_ERROR" });
  assert.match(errors[0]?.message ?? "", /store down/);
  assert.equal(sessions.listeners.size, 1);
  await server.close();
  assert.equal(sessions.listeners.size, 0);
});
