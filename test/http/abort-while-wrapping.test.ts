/**
 * session.abort() (or the caller's signal) while a feature is still wrapping the body —
 * here the ContentSniffer, which waits for the first bytes before send() resolves — must
 * end the request with ABORTED, not leave it waiting for a body that never comes.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Message } from "../../src/http/message.js";
import { ContentSniffer } from "../../src/features/sniffer/index.js";
import type { SessionFeature } from "../../src/http/feature.js";
import { newSession, rejectsWithCode, startServer, text, until } from "./helpers.js";

describe("abort while a feature wraps the body", () => {
  it("session.abort() during sniffing rejects with ABORTED and frees the connection", async () => {
    let headersSent = 0;
    const srv = await startServer((_req, res) => {
      res.writeHead(200, { "Content-Type": "application/octet-stream" });
      res.flushHeaders();
      headersSent++; // ... and the body never comes
    });
    const session = newSession({ features: [new ContentSniffer()] });
    const pending = session.sendAndRead(new Message("GET", `${srv.url}/stall`));
    await until(() => headersSent === 1, 5000, "the response headers");
    session.abort();
    await rejectsWithCode(pending, "ABORTED");
    await until(() => session.connectionCount === 0, 5000, "the stalled connection to close");
  });

  it("the caller's signal during sniffing rejects with ABORTED", async () => {
    let headersSent = 0;
    const srv = await startServer((_req, res) => {
      res.writeHead(200, { "Content-Type": "application/octet-stream" });
      res.flushHeaders();
      headersSent++;
    });
    const session = newSession({ features: [new ContentSniffer()] });
    const ac = new AbortController();
    const pending = session.send(new Message("GET", `${srv.url}/stall`), { signal: ac.signal });
    await until(() => headersSent === 1, 5000, "the response headers");
    ac.abort();
    const err = await rejectsWithCode(pending, "ABORTED");
    assert.equal(err.name, "AbortError");
  });

  it("a wrapBody hook that throws costs no connection: the next request still gets one", async () => {
    const srv = await startServer((_req, res) => res.end("hello"));
    class Broken implements SessionFeature {
      armed = true;
      wrapBody(_msg: Message, body: import("node:stream").Readable) {
        if (this.armed) {
          this.armed = false;
          throw new Error("wrapBody failed");
        }
        return body;
      }
    }
    // One connection in all: a leaked one would make the second request wait forever.
    const session = newSession({ maxConns: 1, maxConnsPerHost: 1, features: [new Broken()] });
    await assert.rejects(session.sendAndRead(new Message("GET", `${srv.url}/a`)), /wrapBody failed/);
    assert.equal(text(await session.sendAndRead(new Message("GET", `${srv.url}/b`))), "hello");
  });
});
