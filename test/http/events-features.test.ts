/**
 * Queue events (request-queued / request-unqueued once per message, across redirects and
 * restarts), message events (restarted, got-headers, finished), metrics only with
 * COLLECT_METRICS, and the feature registry (add/remove by instance and by class,
 * sub-features, per-message disabling, ordering, synthetic responses, restarts).
 */
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import { FeatureOrder, type SessionFeature, type SessionFeatureClass } from "../../src/http/feature.js";
import { MessageHeaders } from "../../src/http/headers.js";
import { Message, MessageFlags } from "../../src/http/message.js";
import type { Session } from "../../src/http/session.js";
import { ContentDecoder } from "../../src/features/content-decoder.js";
import { newSession, rejectsWithCode, startServer, text, until, type TestServer } from "./helpers.js";

function record(s: Session) {
  const log: string[] = [];
  s.on("request-queued", (m) => log.push(`queued ${m.url.pathname}`));
  s.on("request-unqueued", (m) => log.push(`unqueued ${m.url.pathname}`));
  return log;
}

function watch(msg: Message) {
  const log: string[] = [];
  msg.on("restarted", () => log.push("restarted"));
  msg.on("got-headers", () => log.push("got-headers"));
  msg.on("finished", () => log.push("finished"));
  return log;
}

async function hops(): Promise<TestServer> {
  return startServer((req, res) => {
    const n = Number(new URL(req.url ?? "/", "http://x").searchParams.get("n") ?? "0");
    if (n > 0) {
      res.writeHead(302, { Location: `/?n=${n - 1}` });
      res.end("hop");
    } else res.end("done");
  });
}

describe("queue and message events", () => {
  it("request-queued and request-unqueued fire once per message, across 3 redirects", async () => {
    const srv = await hops();
    const s = newSession();
    const log = record(s);
    const msg = new Message("GET", `${srv.url}/?n=3`);
    const mlog = watch(msg);
    assert.equal(text(await s.sendAndRead(msg)), "done");
    await until(() => log.length === 2);
    assert.deepEqual(log, ["queued /", "unqueued /"]);
    assert.deepEqual(mlog, ["restarted", "restarted", "restarted", "got-headers", "finished"]);
    assert.equal(srv.requests.length, 4);
  });

  it("with send(), unqueued (and finished) wait until the body is read", async () => {
    const srv = await hops();
    const s = newSession();
    const log = record(s);
    const msg = new Message("GET", `${srv.url}/?n=1`);
    const mlog = watch(msg);
    const body = await s.send(msg);
    assert.deepEqual(log, ["queued /"]);
    assert.deepEqual(mlog, ["restarted", "got-headers"]);
    assert.equal(await body.text(), "done");
    await until(() => log.length === 2);
    assert.deepEqual(mlog, ["restarted", "got-headers", "finished"]);
  });

  it("a failed or aborted message is unqueued exactly once", async () => {
    const gone = await startServer(() => undefined);
    const port = gone.port;
    await gone.close();
    const s = newSession();
    const log = record(s);
    const msg = new Message("GET", `http://127.0.0.1:${port}/fail`);
    const mlog = watch(msg);
    await rejectsWithCode(s.sendAndRead(msg), "CONNECTION_FAILED");
    assert.deepEqual(log, ["queued /fail", "unqueued /fail"]);
    assert.deepEqual(mlog, ["finished"]);

    const stall = await startServer(() => undefined);
    const m2 = new Message("GET", `${stall.url}/abort`);
    const ac = new AbortController();
    const p = s.sendAndRead(m2, { signal: ac.signal });
    await until(() => stall.requests.length === 1);
    ac.abort();
    await rejectsWithCode(p, "ABORTED");
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(log.slice(2), ["queued /abort", "unqueued /abort"]);
  });

  it("a feature restart (auth-style 'restart' from gotHeaders) counts as one queued message", async () => {
    const srv = await startServer((req, res) => {
      if (req.headers.authorization === "Token ok") res.end("in");
      else {
        res.writeHead(401);
        res.end();
      }
    });
    class TokenAuth implements SessionFeature {
      restarts = 0;
      gotHeaders(msg: Message) {
        if (msg.status === 401 && !msg.requestHeaders.has("Authorization")) {
          msg.requestHeaders.set("Authorization", "Token ok");
          return "restart" as const;
        }
      }
      restarted() {
        this.restarts++;
      }
    }
    const auth = new TokenAuth();
    const s = newSession({ features: [auth] });
    const log = record(s);
    const msg = new Message("GET", `${srv.url}/`);
    const mlog = watch(msg);
    assert.equal(text(await s.sendAndRead(msg)), "in");
    assert.equal(msg.status, 200);
    assert.equal(auth.restarts, 1);
    assert.equal(msg.restartCount, 1);
    await until(() => log.length === 2);
    assert.deepEqual(mlog, ["restarted", "got-headers", "finished"]);
  });

  it("TOO_MANY_REDIRECTS still unqueues once", async () => {
    const srv = await startServer((_req, res) => {
      res.writeHead(301, { Location: "/" });
      res.end();
    });
    const s = newSession();
    const log = record(s);
    await rejectsWithCode(s.sendAndRead(new Message("GET", `${srv.url}/`)), "TOO_MANY_REDIRECTS");
    assert.deepEqual(log, ["queued /", "unqueued /"]);
  });
});

describe("metrics", () => {
  it("msg.metrics stays null without COLLECT_METRICS", async () => {
    const srv = await startServer((_req, res) => res.end("x"));
    const msg = new Message("GET", `${srv.url}/`);
    await newSession().sendAndRead(msg);
    assert.equal(msg.metrics, null);
  });

  it("COLLECT_METRICS fills ordered timestamps and byte counts", async () => {
    const srv = await startServer((_req, res) => res.end("0123456789"));
    const s = newSession();
    const msg = new Message("POST", `${srv.url}/`);
    msg.setRequestBody("text/plain", "abcde");
    msg.addFlags(MessageFlags.COLLECT_METRICS);
    await s.sendAndRead(msg);
    const m = msg.metrics!;
    assert.ok(m);
    assert.ok(m.fetchStart > 0);
    assert.ok(m.connectStart >= m.fetchStart, "connectStart");
    assert.ok(m.connectEnd >= m.connectStart && m.connectEnd > 0, "connectEnd");
    assert.ok(m.requestStart >= m.fetchStart, "requestStart");
    assert.ok(m.responseStart >= m.requestStart, "responseStart");
    assert.ok(m.responseEnd >= m.responseStart, "responseEnd");
    assert.equal(m.responseBodySize, 10);
    assert.equal(m.responseBodyBytesReceived, 10);
    assert.equal(m.requestBodySize, 5);
    assert.ok(m.requestHeaderBytesSent > 20, `requestHeaderBytesSent ${m.requestHeaderBytesSent}`);
    assert.ok(m.responseHeaderBytesReceived > 20, `responseHeaderBytesReceived ${m.responseHeaderBytesReceived}`);
    assert.equal(m.tlsStart, 0, "no TLS on http");

    // A reused connection has no connect step.
    const again = new Message("GET", `${srv.url}/`);
    again.addFlags(MessageFlags.COLLECT_METRICS);
    await s.sendAndRead(again);
    assert.equal(srv.accepted, 1);
    assert.equal(again.metrics!.connectStart, 0);
    assert.equal(again.metrics!.connectEnd, 0);
    assert.ok(again.metrics!.responseEnd >= again.metrics!.requestStart);
  });
});

// ── features ──────────────────────────────────────────────────────────────────────────

class Tagger implements SessionFeature {
  calls: string[] = [];
  attached = 0;
  detached = 0;
  constructor(readonly tag = "t") {}
  attach() {
    this.attached++;
  }
  detach() {
    this.detached++;
  }
  beforeSend(msg: Message) {
    this.calls.push("beforeSend");
    msg.requestHeaders.append("X-Tag", this.tag);
  }
  requestQueued() {
    this.calls.push("queued");
  }
  gotHeaders() {
    this.calls.push("gotHeaders");
  }
  gotBody() {
    this.calls.push("gotBody");
  }
  requestUnqueued() {
    this.calls.push("unqueued");
  }
}
class SubTagger extends Tagger {}
class Other implements SessionFeature {
  beforeSend(msg: Message) {
    msg.requestHeaders.append("X-Other", "1");
  }
}

describe("features", () => {
  it("addFeature runs the hooks in lifecycle order; a second feature of the same class is ignored", async () => {
    const srv = await startServer((_req, res) => res.end("x"));
    const s = newSession();
    const a = new Tagger("a");
    const b = new Tagger("b");
    assert.equal(s.addFeature(a), true);
    assert.equal(s.addFeature(b), false);
    assert.equal(s.addFeature(a), false);
    assert.equal(a.attached, 1);
    assert.equal(b.attached, 0);
    await s.sendAndRead(new Message("GET", `${srv.url}/`));
    await until(() => a.calls.length === 5);
    assert.deepEqual(a.calls, ["queued", "beforeSend", "gotHeaders", "gotBody", "unqueued"]);
    assert.deepEqual(b.calls, []);
    assert.equal(srv.requests[0].headers["x-tag"], "a");
  });

  it("a subclass is a different class: it can be added next to its base", () => {
    const s = newSession();
    assert.equal(s.addFeature(new Tagger()), true);
    assert.equal(s.addFeature(new SubTagger()), true);
  });

  it("addFeatureByType constructs the class; getFeature and hasFeature find it (and by base class)", () => {
    const s = newSession();
    assert.equal(s.hasFeature(SubTagger), false);
    assert.equal(s.addFeatureByType(SubTagger), true);
    assert.equal(s.addFeatureByType(SubTagger), false, "second one ignored");
    assert.ok(s.getFeature(SubTagger) instanceof SubTagger);
    assert.ok(s.getFeature(Tagger) instanceof SubTagger, "getFeature(Base) finds a subclass instance");
    assert.equal(s.hasFeature(Tagger), true);
    assert.equal(s.getFeature(Other), null);
  });

  it("removeFeature detaches one instance; removeFeatureByType removes subclasses too", async () => {
    const srv = await startServer((_req, res) => res.end("x"));
    const s = newSession();
    const base = new Tagger("base");
    const sub = new SubTagger("sub");
    const other = new Other();
    s.addFeature(base);
    s.addFeature(sub);
    s.addFeature(other);
    assert.equal(s.removeFeature(new Tagger()), false, "not one of ours");
    assert.equal(s.removeFeature(other), true);
    assert.equal(s.removeFeature(other), false);
    assert.equal(s.hasFeature(Other), false);
    assert.equal(s.removeFeatureByType(Tagger), true);
    assert.equal(base.detached, 1);
    assert.equal(sub.detached, 1);
    assert.equal(s.hasFeature(Tagger), false);
    assert.equal(s.hasFeature(SubTagger), false);
    assert.equal(s.removeFeatureByType(Tagger), false);
    await s.sendAndRead(new Message("GET", `${srv.url}/`));
    assert.equal(srv.requests[0].headers["x-tag"], undefined);
    assert.equal(srv.requests[0].headers["x-other"], undefined);
  });

  it("removeFeatureByType(SubClass) leaves the base class instance", () => {
    const s = newSession();
    const base = new Tagger();
    s.addFeature(base);
    s.addFeature(new SubTagger());
    assert.equal(s.removeFeatureByType(SubTagger), true);
    assert.equal(s.getFeature(Tagger), base);
  });

  it("msg.disableFeature skips a feature (and its subclasses) for that message only", async () => {
    const srv = await startServer((_req, res) => res.end("x"));
    const s = newSession();
    const sub = new SubTagger("sub");
    const other = new Other();
    s.addFeature(sub);
    s.addFeature(other);
    const msg = new Message("GET", `${srv.url}/`);
    msg.disableFeature(Tagger);
    assert.equal(s.getFeatureForMessage(SubTagger, msg), null);
    assert.equal(s.getFeatureForMessage(Other, msg), other);
    await s.sendAndRead(msg);
    assert.equal(srv.requests[0].headers["x-tag"], undefined);
    assert.equal(srv.requests[0].headers["x-other"], "1");
    assert.deepEqual(sub.calls, []);
    const plain = new Message("GET", `${srv.url}/`);
    assert.equal(s.getFeatureForMessage(SubTagger, plain), sub);
    await s.sendAndRead(plain);
    assert.equal(srv.requests[1].headers["x-tag"], "sub");
  });

  it("features run in ascending order whatever the order they were added in", async () => {
    const srv = await startServer((_req, res) => res.end("x"));
    const order: string[] = [];
    const make = (name: string, o: number): SessionFeature => ({ order: o, beforeSend: () => void order.push(name) });
    const s = newSession({ defaultFeatures: false });
    class A {
      order = 90;
      beforeSend() {
        order.push("late");
      }
    }
    class B {
      order = 5;
      beforeSend() {
        order.push("early");
      }
    }
    s.addFeature(new A());
    s.addFeature(new B());
    s.addFeature(make("default", FeatureOrder.DEFAULT));
    await s.sendAndRead(new Message("GET", `${srv.url}/`));
    assert.deepEqual(order, ["early", "default", "late"]);
  });

  it("defaultFeatures: false leaves out ContentDecoder", () => {
    assert.equal(newSession({ defaultFeatures: false }).hasFeature(ContentDecoder), false);
    assert.equal(newSession().hasFeature(ContentDecoder), true);
  });

  it("a malformed feature is refused at addFeature", () => {
    const s = newSession();
    assert.throws(() => s.addFeature({} as SessionFeature), TypeError);
    assert.throws(() => s.addFeature({ beforeSend: 42 } as unknown as SessionFeature), TypeError);
    assert.throws(() => s.addFeature({ order: Number.NaN, beforeSend() {} } as SessionFeature), TypeError);
    assert.throws(() => s.addFeatureByType(42 as unknown as SessionFeatureClass), TypeError);
  });

  it("sub-features: addFeatureByType hands a class to a feature that accepts it", () => {
    class Scheme {}
    class Manager implements SessionFeature {
      schemes = new Set<SessionFeatureClass>();
      addSubFeature(t: SessionFeatureClass) {
        if (t !== Scheme) return false;
        this.schemes.add(t);
        return true;
      }
      removeSubFeature(t: SessionFeatureClass) {
        return this.schemes.delete(t);
      }
      hasSubFeature(t: SessionFeatureClass) {
        return this.schemes.has(t);
      }
    }
    const s = newSession();
    const m = new Manager();
    s.addFeature(m);
    assert.equal(s.hasFeature(Scheme), false);
    assert.equal(s.addFeatureByType(Scheme), true);
    assert.equal(s.hasFeature(Scheme), true);
    assert.equal(s.getFeature(Manager), m);
    assert.equal(s.removeFeatureByType(Scheme), true);
    assert.equal(s.hasFeature(Scheme), false);
    assert.equal(s.getFeature(Manager), m, "the manager itself stays");
  });

  it("a beforeSend that returns a synthetic response answers without the network", async () => {
    const srv = await startServer((_req, res) => res.end("network"));
    class Canned implements SessionFeature {
      order = FeatureOrder.CACHE;
      beforeSend(msg: Message) {
        if (msg.url.pathname === "/canned") {
          return {
            status: 203,
            reasonPhrase: "Canned",
            headers: new MessageHeaders({ "X-From": "feature" }),
            body: new TextEncoder().encode("canned"),
          };
        }
      }
    }
    const s = newSession({ features: [new Canned()] });
    const msg = new Message("GET", `${srv.url}/canned`);
    assert.equal(text(await s.sendAndRead(msg)), "canned");
    assert.equal(msg.status, 203);
    assert.equal(msg.reasonPhrase, "Canned");
    assert.equal(msg.responseHeaders.get("x-from"), "feature");
    assert.equal(srv.accepted, 0);
    const streamed = new Message("GET", `${srv.url}/canned`);
    assert.equal(text(await s.sendAndRead(streamed)), "canned");
    assert.equal(text(await s.sendAndRead(new Message("GET", `${srv.url}/live`))), "network");
  });

  it("a synthetic Readable body works too", async () => {
    const s = newSession({
      features: [{ beforeSend: () => ({ status: 200, headers: new MessageHeaders(), body: Readable.from([Buffer.from("a"), Buffer.from("b")]) }) }],
    });
    assert.equal(text(await s.sendAndRead(new Message("GET", "http://127.0.0.1:9/"))), "ab");
  });

  it("a wrapBody feature sees and transforms the final body only", async () => {
    const srv = await hops();
    const { Transform } = await import("node:stream");
    let wrapped = 0;
    const upper: SessionFeature = {
      wrapBody: (_m, body) => {
        wrapped++;
        return body.pipe(new Transform({ transform: (c, _e, cb) => cb(null, Buffer.from(String(c).toUpperCase())) }));
      },
    };
    const s = newSession({ features: [upper] });
    assert.equal(text(await s.sendAndRead(new Message("GET", `${srv.url}/?n=2`))), "DONE");
    assert.equal(wrapped, 1);
  });

  it("a failed hook is told about transport failures", async () => {
    const gone = await startServer(() => undefined);
    const port = gone.port;
    await gone.close();
    const seen: string[] = [];
    const s = newSession({ features: [{ failed: (_m, e) => void seen.push((e as Error & { code: string }).code) }] });
    await rejectsWithCode(s.sendAndRead(new Message("GET", `http://127.0.0.1:${port}/`)), "CONNECTION_FAILED");
    assert.deepEqual(seen, ["CONNECTION_FAILED"]);
  });

  it("close() detaches every feature", async () => {
    const t = new Tagger();
    const s = newSession({ features: [t] });
    await s.close();
    assert.equal(t.detached, 1);
  });
});
