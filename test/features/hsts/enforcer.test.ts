import assert from "node:assert/strict";
import { inspect } from "node:util";
import { describe, it } from "node:test";
import { FeatureOrder, Message, MessageHeaders, NetworkError } from "../../../src/index.js";
import { HSTSEnforcer, HSTSPolicy } from "../../../src/features/hsts/index.js";

function response(url: string, sts: string | string[] | null, status = 200): Message {
  const msg = new Message("GET", url);
  msg.status = status;
  const h = new MessageHeaders();
  for (const v of sts === null ? [] : Array.isArray(sts) ? sts : [sts]) h.append("Strict-Transport-Security", v);
  msg.responseHeaders = h;
  return msg;
}

function rewritten(e: HSTSEnforcer, url: string): string {
  const msg = new Message("GET", url);
  e.beforeSend(msg);
  return msg.url.href;
}

describe("HSTSEnforcer hooks", () => {
  it("runs first among the built-in features", () => {
    assert.equal(new HSTSEnforcer().order, FeatureOrder.HSTS);
  });

  it("learns a policy from an https response and rewrites http (80 → 443, other ports kept, ws → wss)", () => {
    const e = new HSTSEnforcer();
    e.gotHeaders(response("https://example.com/", "max-age=600"));
    assert.ok(e.hasValidPolicy("example.com"));
    assert.equal(rewritten(e, "http://example.com/a?b#c"), "https://example.com/a?b#c");
    assert.equal(rewritten(e, "http://example.com:80/"), "https://example.com/");
    assert.equal(rewritten(e, "http://example.com:8080/x"), "https://example.com:8080/x");
    assert.equal(rewritten(e, "ws://example.com/chat"), "wss://example.com/chat");
    assert.equal(rewritten(e, "http://EXAMPLE.com./"), "https://example.com./");
    assert.equal(rewritten(e, "http://other.com/"), "http://other.com/");
    assert.equal(rewritten(e, "http://sub.example.com/"), "http://sub.example.com/", "no includeSubDomains");
  });

  it("ignores Strict-Transport-Security over plain http and for IP-literal hosts", () => {
    const e = new HSTSEnforcer();
    e.gotHeaders(response("http://example.com/", "max-age=600"));
    e.gotHeaders(response("https://127.0.0.1/", "max-age=600"));
    e.gotHeaders(response("https://[::1]/", "max-age=600"));
    assert.deepEqual(e.getPolicies(), []);
    e.setSessionPolicy("example.org", false);
    assert.throws(() => e.setSessionPolicy("10.0.0.1", false), { code: "INVALID_ARGUMENT" });
    assert.equal(rewritten(e, "http://127.0.0.1/"), "http://127.0.0.1/");
  });

  it("ignores a proxy's 407 answer to CONNECT", () => {
    const e = new HSTSEnforcer();
    e.gotHeaders(response("https://example.com/", "max-age=600", 407));
    assert.equal(e.hasValidPolicy("example.com"), false);
  });

  it("honours includeSubDomains for every level below, not for the parent", () => {
    const e = new HSTSEnforcer();
    e.gotHeaders(response("https://example.com/", "max-age=600; includeSubDomains"));
    assert.ok(e.hasValidPolicy("a.example.com"));
    assert.ok(e.hasValidPolicy("a.b.example.com"));
    assert.equal(e.hasValidPolicy("com"), false);
    assert.equal(e.hasValidPolicy("notexample.com"), false);
    assert.equal(rewritten(e, "http://deep.sub.example.com:81/"), "https://deep.sub.example.com:81/");
  });

  it("deletes the policy on max-age=0 and uses only the first STS header", () => {
    const e = new HSTSEnforcer();
    const events: Array<[string | null, string | null]> = [];
    e.on("changed", (o, n) => events.push([o && o.domain, n && n.domain]));
    e.gotHeaders(response("https://example.com/", ["max-age=600", "max-age=0"]));
    assert.ok(e.hasValidPolicy("example.com"));
    e.gotHeaders(response("https://example.com/", "max-age=0"));
    assert.equal(e.hasValidPolicy("example.com"), false);
    assert.deepEqual(events, [
      [null, "example.com"],
      ["example.com", null],
    ]);
  });

  it("emits changed on replace, not on an identical refresh", () => {
    const e = new HSTSEnforcer();
    const events: Array<[HSTSPolicy | null, HSTSPolicy | null]> = [];
    e.on("changed", (o, n) => events.push([o, n]));
    e.gotHeaders(response("https://example.com/", "max-age=600"));
    e.gotHeaders(response("https://example.com/", "max-age=600"));
    assert.equal(events.length, 1);
    e.gotHeaders(response("https://example.com/", "max-age=600; includeSubDomains"));
    assert.equal(events.length, 2);
    assert.equal(events[1][0]?.includeSubDomains, false);
    assert.equal(events[1][1]?.includeSubDomains, true);
  });

  it("ignores malformed headers (duplicate directive, no max-age)", () => {
    const e = new HSTSEnforcer();
    e.gotHeaders(response("https://example.com/", "max-age=600; max-age=700"));
    e.gotHeaders(response("https://example.com/", "includeSubDomains"));
    assert.equal(e.hasValidPolicy("example.com"), false);
  });

  it("treats expired policies as absent and sweeps them", () => {
    const e = new HSTSEnforcer();
    e.setPolicy(new HSTSPolicy("old.example", 10, false, new Date(Date.now() + 10_000)));
    assert.ok(e.hasValidPolicy("old.example"));
    e.setPolicy(new HSTSPolicy("gone.example", 10, true, new Date(Date.now() - 1)));
    assert.equal(e.hasValidPolicy("gone.example"), false);
    assert.deepEqual(e.getDomains(), ["old.example"]);
  });

  it("keeps session policies apart: headers never remove them, they are not persisted", () => {
    const e = new HSTSEnforcer();
    e.setSessionPolicy("pinned.example", true);
    e.gotHeaders(response("https://pinned.example/", "max-age=0"));
    assert.ok(e.hasValidPolicy("x.pinned.example"));
    assert.deepEqual(e.getDomains(false), []);
    assert.deepEqual(e.getDomains(true), ["pinned.example"]);
    assert.equal(e.getPolicyFor("x.pinned.example")?.isSessionPolicy, true);
  });

  it("handles IDN hosts in their ASCII form", () => {
    const e = new HSTSEnforcer();
    e.setSessionPolicy("bücher.example", false);
    assert.ok(e.hasValidPolicy("xn--bcher-kva.example"));
    assert.equal(rewritten(e, "http://bücher.example/"), "https://xn--bcher-kva.example/");
  });

  it("marks a TLS failure on a known host as fatal, and only that", () => {
    const e = new HSTSEnforcer();
    e.setSessionPolicy("secure.example", false);
    const known = new Message("GET", "https://secure.example/");
    const tls = new NetworkError("TLS_FAILED", "TLS handshake failed");
    e.failed(known, tls);
    assert.ok(HSTSEnforcer.isFatalError(tls));
    const other = new NetworkError("TLS_FAILED", "TLS handshake failed");
    e.failed(new Message("GET", "https://unknown.example/"), other);
    assert.equal(HSTSEnforcer.isFatalError(other), false);
    const reset = new NetworkError("CONNECTION_RESET", "reset");
    e.failed(known, reset);
    assert.equal(HSTSEnforcer.isFatalError(reset), false);
  });

  it("caps the number of policies, dropping the soonest to expire", () => {
    const e = new HSTSEnforcer({ maxPolicies: 3 });
    for (let i = 0; i < 5; i++) e.gotHeaders(response(`https://h${i}.example/`, `max-age=${1000 + i}`));
    assert.deepEqual(e.getDomains().sort(), ["h2.example", "h3.example", "h4.example"]);
  });

  it("prints no more than domains", () => {
    const e = new HSTSEnforcer();
    e.setSessionPolicy("a.example", true);
    assert.match(inspect(e), /HSTSEnforcer \{ 0 policies, 1 session policies \}/);
    assert.match(String(e.getPolicies()[0]), /a\.example; session; includeSubDomains/);
  });
});
