/**
 * The schemes on their own, called directly with Message objects (no network): RFC 7616
 * test vectors, nc counting, qop choice, userhash, username*, stale, nextnonce, rspauth,
 * and that no secret shows in inspect/toString/JSON.
 */
import assert from "node:assert/strict";
import { inspect } from "node:util";
import { describe, it } from "node:test";
import { Message } from "../../../src/http/message.js";
import { AuthBasic, AuthBearer, AuthDigest, AuthError, parseChallenges } from "../../../src/features/auth/index.js";
import { digestHA1, digestHA2, digestResponse, digestUserhash, digestAlgorithm } from "../../../src/features/auth/digest-compute.js";
import { parseDigestAuthorization } from "./digest-server.js";

const challenge = (s: string) => parseChallenges(s)[0];

describe("Digest computations (RFC 7616 §3.9 examples)", () => {
  const nonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
  const cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
  it("MD5 and SHA-256", () => {
    for (const [hash, expected] of [
      ["md5", "8ca523f5e9506fed4657c9700eebdbec"],
      ["sha256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"],
    ] as const) {
      const ha1 = digestHA1(hash, false, "Mufasa", "http-auth@example.org", "Circle of Life", nonce, cnonce);
      const ha2 = digestHA2(hash, "GET", "/dir/index.html", "auth", null);
      assert.equal(digestResponse(hash, ha1, nonce, "00000001", cnonce, "auth", ha2), expected);
    }
  });

  it("SHA-512-256 with userhash (values as corrected by RFC errata 4897)", () => {
    const user = "J\u00e4s\u00f8n Doe";
    const realm = "api@example.org";
    assert.equal(digestUserhash("sha512-256", user, realm), "793263caabb707a56211940d90411ea4a575adeccb7e360aeb624ed06ece9b0b");
    const ha1 = digestHA1("sha512-256", false, user, realm, "Secret, or not?", "", "");
    const ha2 = digestHA2("sha512-256", "GET", "/doe.json", "auth", null);
    const r = digestResponse(
      "sha512-256",
      ha1,
      "5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK",
      "00000001",
      "NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v",
      "auth",
      ha2,
    );
    assert.equal(r, "3798d4131c277846293534c3edc11bd8a5e4cdcbff78b05db9d95eeb1cec68a5");
  });

  it("recognises algorithms and their -sess variants, rejects others", () => {
    assert.equal(digestAlgorithm(undefined)?.hash, "md5");
    assert.equal(digestAlgorithm("sha-256-SESS")?.sess, true);
    assert.equal(digestAlgorithm("SHA-512-256")?.hash, "sha512-256");
    assert.equal(digestAlgorithm("SHA-512"), null);
    assert.equal(digestAlgorithm("bogus"), null);
  });
});

describe("AuthDigest", () => {
  const make = (ch: string, url = "http://h.test/dir/index.html") => {
    const a = new AuthDigest({ url, challenge: challenge(ch) });
    a.authenticate("Mufasa", "Circle of Life");
    return a;
  };

  it("counts nc per nonce in 8 lower-case hex digits and restarts it for a new nonce", () => {
    const a = make(`Digest realm="r", nonce="n1", qop="auth", algorithm=SHA-256`);
    const msg = new Message("GET", "http://h.test/dir/index.html");
    const ncs: string[] = [];
    for (let i = 0; i < 17; i++) ncs.push(parseDigestAuthorization(a.getAuthorization(msg)!).nc);
    assert.equal(ncs[0], "00000001");
    assert.equal(ncs[9], "0000000a");
    assert.equal(ncs[16], "00000011");
    a.checkResponse(msg, { nextnonce: "n2" });
    const p = parseDigestAuthorization(a.getAuthorization(msg)!);
    assert.equal(p.nonce, "n2");
    assert.equal(p.nc, "00000001");
  });

  it("prefers auth-int for in-memory bodies and falls back to auth for streams", () => {
    const a = make(`Digest realm="r", nonce="n", qop="auth,auth-int"`);
    const msg = new Message("POST", "http://h.test/x");
    msg.setRequestBody("text/plain", "hello");
    const p = parseDigestAuthorization(a.getAuthorization(msg)!);
    assert.equal(p.qop, "auth-int");
    const ha1 = digestHA1("md5", false, "Mufasa", "r", "Circle of Life", "", "");
    const ha2 = digestHA2("md5", "POST", "/x", "auth-int", "hello");
    assert.equal(p.response, digestResponse("md5", ha1, "n", p.nc, p.cnonce, "auth-int", ha2));
    const streamed = new Message("POST", "http://h.test/x");
    streamed.setRequestBody(
      "text/plain",
      (async function* () {
        yield new Uint8Array([1]);
      })(),
    );
    assert.equal(parseDigestAuthorization(a.getAuthorization(streamed)!).qop, "auth");
    // auth-int only: a stream body cannot be answered.
    const b = make(`Digest realm="r", nonce="n", qop="auth-int"`);
    assert.equal(b.canAnswer(streamed), false);
    assert.equal(b.getAuthorization(streamed), null);
  });

  it("RFC 2069 mode without qop sends no nc or cnonce", () => {
    const a = make(`Digest realm="r", nonce="abc"`);
    const msg = new Message("GET", "http://h.test/p?q=1");
    const p = parseDigestAuthorization(a.getAuthorization(msg)!);
    assert.equal(p.nc, undefined);
    assert.equal(p.cnonce, undefined);
    assert.equal(p.uri, "/p?q=1");
    const ha1 = digestHA1("md5", false, "Mufasa", "r", "Circle of Life", "", "");
    assert.equal(p.response, digestResponse("md5", ha1, "abc", "", "", "", digestHA2("md5", "GET", "/p?q=1", "", null)));
  });

  it("-sess keeps one cnonce per nonce", () => {
    const a = make(`Digest realm="r", nonce="n", qop=auth, algorithm=SHA-256-sess`);
    const msg = new Message("GET", "http://h.test/");
    const p1 = parseDigestAuthorization(a.getAuthorization(msg)!);
    const p2 = parseDigestAuthorization(a.getAuthorization(msg)!);
    assert.equal(p1.algorithm, "SHA-256-sess");
    assert.equal(p1.cnonce, p2.cnonce);
    assert.notEqual(p1.nc, p2.nc);
    assert.equal(AuthDigest.challengeStrength(challenge(`Digest realm="r", nonce="n", algorithm=MD5-sess`)), -1);
  });

  it("userhash hides the name; username* carries a non-ASCII name", () => {
    const a = new AuthDigest({
      url: "http://h.test/",
      challenge: challenge(`Digest realm="api@example.org", nonce="n", qop=auth, algorithm=SHA-512-256, userhash=true, charset=UTF-8`),
    });
    a.authenticate("J\u00e4s\u00f8n Doe", "Secret, or not?");
    const p = parseDigestAuthorization(a.getAuthorization(new Message("GET", "http://h.test/doe.json"))!);
    assert.equal(p.username, "793263caabb707a56211940d90411ea4a575adeccb7e360aeb624ed06ece9b0b");
    assert.equal(p.userhash, "true");
    const b = new AuthDigest({ url: "http://h.test/", challenge: challenge(`Digest realm="r", nonce="n", qop=auth, charset=UTF-8`) });
    b.authenticate("J\u00e4s\u00f8n Doe", "pw");
    const header = b.getAuthorization(new Message("GET", "http://h.test/"))!;
    assert.match(header, /username\*=UTF-8''J%C3%A4s%C3%B8n%20Doe/);
    assert.equal(parseDigestAuthorization(header).username, "J\u00e4s\u00f8n Doe");
  });

  it("stale=true in the same realm keeps the credentials; otherwise not", () => {
    const a = make(`Digest realm="r", nonce="n1", qop=auth`);
    assert.equal(a.update(challenge(`Digest realm="r", nonce="n2", qop=auth, stale=TRUE`)), true);
    assert.equal(parseDigestAuthorization(a.getAuthorization(new Message("GET", "http://h.test/"))!).nonce, "n2");
    assert.equal(a.update(challenge(`Digest realm="r", nonce="n3", qop=auth`)), false);
    assert.equal(a.update(challenge(`Digest realm="other", nonce="n4", qop=auth, stale=true`)), false);
  });

  it("verifies rspauth and rejects a wrong one with AUTH_RSPAUTH_MISMATCH", () => {
    const a = make(`Digest realm="r", nonce="n", qop=auth`);
    const msg = new Message("GET", "http://h.test/a");
    const p = parseDigestAuthorization(a.getAuthorization(msg)!);
    const ha1 = digestHA1("md5", false, "Mufasa", "r", "Circle of Life", "", "");
    const good = digestResponse("md5", ha1, "n", p.nc, p.cnonce, "auth", digestHA2("md5", "", "/a", "auth", null));
    a.checkResponse(msg, { rspauth: good, qop: "auth", nc: p.nc, cnonce: p.cnonce });
    a.getAuthorization(msg);
    assert.throws(
      () => a.checkResponse(msg, { rspauth: "0".repeat(32) }),
      (e: unknown) => e instanceof AuthError && e.code === "AUTH_RSPAUTH_MISMATCH",
    );
  });

  it("domain sets the protection space, same origin only", () => {
    const a = make(`Digest realm="r", nonce="n", domain="/a/ http://h.test/b/ http://evil.test/c/ //evil.test/d/"`);
    assert.deepEqual(a.getProtectionSpace(), ["/a/", "/b/"]);
    assert.deepEqual(make(`Digest realm="r", nonce="n"`).getProtectionSpace(), ["/"]);
  });

  it("ranks SHA-512-256 > SHA-256 > MD5 > Bearer > Basic and refuses unknown algorithms", () => {
    const s = (h: string) => AuthDigest.challengeStrength(challenge(h));
    assert.ok(s(`Digest nonce=n, algorithm=SHA-512-256`) > s(`Digest nonce=n, algorithm=SHA-256`));
    assert.ok(s(`Digest nonce=n, algorithm=SHA-256`) > s(`Digest nonce=n`));
    assert.ok(s(`Digest nonce=n`) > AuthBearer.strength);
    assert.ok(AuthBearer.strength > AuthBasic.strength);
    assert.equal(s(`Digest nonce=n, algorithm=SHA-1`), -1);
    assert.equal(s(`Digest realm=x`), -1);
    assert.equal(s(`Digest nonce=n, qop=bogus`), -1);
  });
});

describe("AuthBasic and AuthBearer", () => {
  it("Basic encodes UTF-8 by default and Latin-1 when the server asks", () => {
    const msg = new Message("GET", "http://h.test/");
    const a = new AuthBasic({ url: "http://h.test/", challenge: challenge(`Basic realm="r", charset="UTF-8"`) });
    a.authenticate("zoë", "pässword");
    assert.equal(a.getAuthorization(msg), `Basic ${Buffer.from("zoë:pässword", "utf8").toString("base64")}`);
    const b = new AuthBasic({ url: "http://h.test/", challenge: challenge(`Basic realm="r", charset="ISO-8859-1"`) });
    b.authenticate("zoë", "pässword");
    assert.equal(b.getAuthorization(msg), `Basic ${Buffer.from("zoë:pässword", "latin1").toString("base64")}`);
    assert.deepEqual(b.getProtectionSpace(), ["/"]);
    assert.deepEqual(new AuthBasic({ url: "http://h.test/a/b/c.html" }).getProtectionSpace(), ["/a/b/"]);
  });

  it("Bearer sends the token and refuses header injection", () => {
    const t = new AuthBearer({ url: "http://h.test/" });
    t.authenticate("", "abc.DEF-123_~+/=");
    assert.equal(t.getAuthorization(new Message("GET", "http://h.test/")), "Bearer abc.DEF-123_~+/=");
    assert.throws(() => t.authenticate("", "a\r\nX-Evil: 1"), { code: "INVALID_ARGUMENT" });
    assert.throws(() => new AuthBasic({ url: "http://h.test/" }).authenticate("u\n", "p"), { code: "INVALID_ARGUMENT" });
  });

  it("never shows a secret in inspect, toString or JSON", () => {
    const secrets = ["s3cr3t-pass", "tok-XYZ-987"];
    const a = new AuthBasic({ url: "http://user:s3cr3t-pass@h.test/" });
    a.authenticate("user", "s3cr3t-pass");
    const t = new AuthBearer({ url: "http://h.test/" });
    t.authenticate("", "tok-XYZ-987");
    const d = new AuthDigest({ url: "http://h.test/", challenge: challenge(`Digest realm="r", nonce="n", qop=auth`) });
    d.authenticate("user", "s3cr3t-pass");
    for (const x of [a, t, d]) {
      const shown = [inspect(x, { showHidden: true, depth: 5 }), String(x), JSON.stringify(x), inspect({ wrapped: x })].join("\n");
      for (const s of secrets) assert.ok(!shown.includes(s), `leaked in ${shown}`);
    }
  });
});
