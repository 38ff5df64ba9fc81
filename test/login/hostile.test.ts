/** Hostile or broken login servers: the credential session fails cleanly, holds little, never loops. */
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, it } from "node:test";
import { AtprotoSession, LoginFailedError, ApiKeySession } from "../../src/login/index.js";

let server: http.Server | null = null;
let hits = 0;

async function serve(handler: http.RequestListener): Promise<string> {
  hits = 0;
  server = http.createServer((req, res) => {
    hits++;
    handler(req, res);
  });
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  if (server === null) return;
  server.closeAllConnections();
  await new Promise<void>((r) => server!.close(() => r()));
  server = null;
});

const login = { identifier: "alice.test", password: "pw-secret-1" };

describe("login: hostile servers", () => {
  const cases: Array<[string, http.RequestListener]> = [
    ["non-JSON 200", (_q, r) => r.end("<html>hello</html>")],
    ["JSON without tokens", (_q, r) => r.end(JSON.stringify({ did: "did:plc:x", handle: "x" }))],
    [
      "tokens with ':::' or line breaks",
      (_q, r) => r.end(JSON.stringify({ did: "did:plc:x", handle: "x", accessJwt: "a:::b", refreshJwt: "c\r\nd" })),
    ],
    ["a 2 MB answer", (_q, r) => r.end(JSON.stringify({ junk: "x".repeat(2 * 1024 * 1024) }))],
    [
      "a 500",
      (_q, r) => {
        r.statusCode = 500;
        r.end(`{"error":"InternalServerError","message":"pw-secret-1 oops"}`);
      },
    ],
  ];
  for (const [name, handler] of cases) {
    it(`atproto login against ${name}: LoginFailedError, nothing stored, no secret`, async () => {
      const url = await serve(handler);
      await using s = new AtprotoSession({ service: url, sessionOptions: { proxyResolver: null } });
      await assert.rejects(s.login(login), (e: unknown) => e instanceof LoginFailedError && !e.message.includes("pw-secret-1"));
      assert.equal(s.loggedIn, false);
      assert.equal(hits, 1);
    });
  }

  it("an API-key server that answers every request with 'invalid session' costs one re-login per request, not a loop", async () => {
    const url = await serve((req, res) => {
      res.setHeader("content-type", "application/json");
      if (req.url === "/api/login") return res.end(JSON.stringify({ status: "success", session: `s${hits}` }));
      res.end(JSON.stringify({ status: "error", errormessage: "invalid session" }));
    });
    await using s = new ApiKeySession({ apiKey: "k", apiUrl: `${url}/api/`, sessionOptions: { proxyResolver: null } });
    await assert.rejects(s.call("jobs"));
    assert.equal(hits, 4, "login, request, re-login, retried request");
  });
});
