/**
 * msg.disableFeature(SchemeClass) turns one auth scheme off for that message (libsoup's
 * soup_message_disable_feature with an auth type): the strongest remaining scheme answers
 * the challenge, and cached credentials of the disabled scheme are not sent up front.
 */
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { Session } from "../../../src/http/session.js";
import { Message } from "../../../src/http/message.js";
import { AuthBasic, AuthDigest } from "../../../src/features/auth/index.js";
import { basic, startServer, type TestServer } from "./servers.js";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** Offers Digest and Basic; says which one a request used. */
async function twoSchemeServer(): Promise<TestServer & { seen: string[] }> {
  const seen: string[] = [];
  const s = await startServer((req, res) => {
    const auth = req.headers.authorization ?? "";
    seen.push(auth.split(" ")[0] || "none");
    if (auth === basic("user", "pass")) return void res.end("basic ok");
    if (auth.startsWith("Digest ")) return void res.end("digest ok"); // the scheme choice is what is tested here
    res.writeHead(401, [
      ["WWW-Authenticate", 'Digest realm="r", nonce="n1", qop="auth", algorithm=SHA-256'],
      ["WWW-Authenticate", 'Basic realm="r"'],
    ]);
    res.end("denied");
  });
  cleanups.push(() => s.close());
  return Object.assign(s, { seen });
}

function session(): Session {
  const s = new Session({ proxyResolver: null });
  s.on("authenticate", (r) => r.authenticate("user", "pass"));
  cleanups.push(() => s.close());
  return s;
}

describe("disabling an auth scheme per message", () => {
  it("uses the strongest scheme normally, the next one when that scheme is disabled", async () => {
    const srv = await twoSchemeServer();
    const s = session();
    const normal = new Message("GET", `${srv.url}/a`);
    assert.equal(Buffer.from(await s.sendAndRead(normal)).toString(), "digest ok");

    const noDigest = new Message("GET", `${srv.url}/b`);
    noDigest.disableFeature(AuthDigest);
    assert.equal(Buffer.from(await s.sendAndRead(noDigest)).toString(), "basic ok");
    // No preemptive Digest from the cache for it either: it got a 401 first, then Basic.
    assert.deepEqual(srv.seen.slice(-2), ["none", "Basic"]);
  });

  it("with every offered scheme disabled the 401 reaches the caller", async () => {
    const srv = await twoSchemeServer();
    const s = session();
    const msg = new Message("GET", `${srv.url}/c`);
    msg.disableFeature(AuthDigest);
    msg.disableFeature(AuthBasic);
    await s.sendAndRead(msg);
    assert.equal(msg.status, 401);
    assert.deepEqual(srv.seen, ["none"]);
  });
});
