/**
 * Issue 12 (10): where credentials may be sent. A login or refresh answer's DID document,
 * an imported session string (atproto's `:::` form or `sessionkit:1:`) and the configured
 * service must be `https:`, or plain `http:` on a loopback host; anything else fails with
 * InsecureEndpointError (INSECURE_ENDPOINT) before a token is sent there.
 */
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { AtprotoProfile, isLoopbackHost, parseAtprotoSessionString, pdsFromDidDoc } from "../../src/login/atproto-profile.js";
import { AtprotoSession } from "../../src/login/atproto-session.js";
import { InsecureEndpointError } from "../../src/login/errors.js";
import { encodeSessionString } from "../../src/login/session-string.js";

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
const jwt = (exp: number) => `${b64({ alg: "HS256" })}.${b64({ exp, sub: "did:plc:alice" })}.c2ln`;
const DID = "did:plc:alice";
const FRESH = () => jwt(Math.floor(Date.now() / 1000) + 3600);

function isInsecure(e: unknown): boolean {
  return e instanceof InsecureEndpointError && e.code === "INSECURE_ENDPOINT";
}

describe("credentials go to https endpoints (or http on loopback) only", () => {
  it("isLoopbackHost: localhost, 127/8 and ::1 only", () => {
    for (const h of ["localhost", "LOCALHOST", "127.0.0.1", "127.255.0.9", "[::1]"]) assert.ok(isLoopbackHost(h), h);
    for (const h of ["169.254.169.254", "10.0.0.1", "example.com", "localhost.example.com", "127.0.0.1.nip.io", "128.0.0.1", "[::2]"]) {
      assert.ok(!isLoopbackHost(h), h);
    }
  });

  it("an atproto session string naming a plain-http PDS is refused; https and loopback http are accepted", () => {
    const s = (pds: string) => `alice.test:::${DID}:::${FRESH()}:::${FRESH()}:::${pds}`;
    for (const pds of ["http://169.254.169.254", "http://10.0.0.7:2583", "http://pds.example.com", "http://0xa9fea9fe/"]) {
      assert.throws(() => parseAtprotoSessionString(s(pds)), isInsecure, pds);
    }
    for (const pds of ["https://pds.example.com", "http://127.0.0.1:2583", "http://localhost:2583", "http://[::1]:2583"]) {
      assert.equal(parseAtprotoSessionString(s(pds))?.pdsEndpoint, pds, pds);
    }
  });

  it("a sessionkit:1: string (and a persisted state) naming a plain-http PDS is refused", () => {
    const profile = new AtprotoProfile("https://entryway.example");
    const state = { handle: "alice.test", did: DID, accessJwt: FRESH(), refreshJwt: FRESH(), pdsEndpoint: "http://169.254.169.254" };
    assert.throws(() => profile.decodeState(state), isInsecure);
    const str = encodeSessionString("atproto", state);
    assert.ok(str.startsWith("sessionkit:1:"));
    const session = new AtprotoSession({ service: "https://entryway.example" });
    return assert.rejects(session.login({ sessionString: str }), isInsecure).finally(() => session.close());
  });

  it("the configured service must be https too (the password goes there), loopback excepted", () => {
    assert.throws(() => new AtprotoProfile("http://bsky.example"), isInsecure);
    assert.doesNotThrow(() => new AtprotoProfile("http://127.0.0.1:2583"));
    assert.doesNotThrow(() => new AtprotoProfile("https://bsky.social"));
  });

  it("pdsFromDidDoc still reads the endpoint; the refusal happens where a session is made from it", () => {
    const doc = { id: DID, service: [{ id: "#atproto_pds", type: "AtprotoPersonalDataServer", serviceEndpoint: "http://169.254.169.254/" }] };
    assert.equal(pdsFromDidDoc(doc, DID), "http://169.254.169.254");
  });
});

describe("a hostile login or refresh answer cannot move the PDS to plain http", () => {
  let server: http.Server;
  let entryway = "";
  /** What the next createSession / refreshSession names as the PDS. */
  let pdsForLogin = "";
  let pdsForRefresh = "";
  const seen: string[] = [];

  before(async () => {
    server = http.createServer((req, res) => {
      seen.push(req.url ?? "");
      const pds = req.url?.includes("createSession") ? pdsForLogin : pdsForRefresh;
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(
        JSON.stringify({
          did: DID,
          handle: "alice.test",
          accessJwt: FRESH(),
          refreshJwt: FRESH(),
          didDoc: { id: DID, service: [{ id: "#atproto_pds", type: "AtprotoPersonalDataServer", serviceEndpoint: pds }] },
        }),
      );
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    entryway = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it("createSession whose DID document names http://169.254.169.254 fails with INSECURE_ENDPOINT", async () => {
    pdsForLogin = "http://169.254.169.254";
    const s = new AtprotoSession({ service: entryway, sessionOptions: { proxyResolver: null } });
    try {
      await assert.rejects(s.login({ identifier: "alice.test", password: "pw" }), (e: unknown) => {
        assert.ok(isInsecure(e), String(e));
        assert.equal((e as InsecureEndpointError).endpoint, "http://169.254.169.254");
        assert.ok(!String((e as Error).message).includes("pw"));
        return true;
      });
      assert.throws(() => s.exportSessionString(), "no session was kept");
    } finally {
      await s.close();
    }
  });

  it("a refresh answer that moves the PDS to plain http fails with INSECURE_ENDPOINT and sends nothing there", async () => {
    pdsForLogin = entryway; // loopback http: accepted
    pdsForRefresh = "http://10.1.2.3:2583";
    const s = new AtprotoSession({ service: entryway, sessionOptions: { proxyResolver: null } });
    try {
      await s.login({ identifier: "alice.test", password: "pw" });
      const before = seen.length;
      await assert.rejects(s.refresh(), isInsecure);
      assert.equal(seen.length, before + 1, "only the refresh call itself, to the loopback PDS");
      assert.ok(!s.exportSessionString().includes("10.1.2.3"), "the insecure endpoint was not adopted");
    } finally {
      await s.close();
    }
  });
});
