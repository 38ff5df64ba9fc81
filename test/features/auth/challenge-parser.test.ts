import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import {
  decodeExtValue,
  encodeExtValue,
  MAX_CHALLENGES,
  MAX_PARAMS,
  parseAuthParams,
  parseChallengeHeaders,
  parseChallenges,
} from "../../../src/features/auth/challenge-parser.js";

describe("WWW-Authenticate parser (RFC 9110 §11)", () => {
  it("parses several challenges in one header, with quoted strings and tokens", () => {
    const ch = parseChallenges(
      `Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple", Digest realm="x", qop="auth,auth-int", nonce="n,1", algorithm=SHA-256`,
    );
    assert.deepEqual(
      ch.map((c) => c.scheme),
      ["Newauth", "Basic", "Digest"],
    );
    assert.equal(ch[0].params.realm, "apps");
    assert.equal(ch[0].params.type, "1");
    assert.equal(ch[0].params.title, 'Login to "apps"');
    assert.equal(ch[1].params.realm, "simple");
    assert.equal(ch[2].params.qop, "auth,auth-int");
    assert.equal(ch[2].params.nonce, "n,1");
    assert.equal(ch[2].params.algorithm, "SHA-256");
  });

  it("lower-cases parameter names and keeps the first of duplicates", () => {
    const [c] = parseChallenges(`DIGEST REALM="a", Realm="b", NONCE=abc`);
    assert.equal(c.schemeLower, "digest");
    assert.equal(c.params.realm, "a");
    assert.equal(c.params.nonce, "abc");
  });

  it("parses token68 and parameterless challenges", () => {
    const ch = parseChallenges(`Negotiate YIIB+w==, NTLM, Basic realm=x, Bearer`);
    assert.equal(ch.length, 4);
    assert.equal(ch[0].token68, "YIIB+w==");
    assert.equal(ch[1].scheme, "NTLM");
    assert.equal(ch[1].token68, null);
    assert.deepEqual({ ...ch[2].params }, { realm: "x" });
    assert.equal(ch[3].scheme, "Bearer");
  });

  it("decodes RFC 8187 extended parameters and prefers them", () => {
    const [c] = parseChallenges(`Basic realm="plain", realm*=UTF-8''J%C3%A4s%C3%B8n, title*=iso-8859-1'en'%A3%20rates`);
    assert.equal(c.params.realm, "Jäsøn");
    assert.equal(c.params.title, "£ rates");
    assert.equal(decodeExtValue("UTF-8''%FF"), null); // invalid UTF-8
    assert.equal(decodeExtValue("garbage"), null);
    assert.equal(encodeExtValue("Jäsøn Doe"), "UTF-8''J%C3%A4s%C3%B8n%20Doe");
    assert.equal(decodeExtValue(encodeExtValue("Jäsøn Doe")), "Jäsøn Doe");
  });

  it("joins several header lines and tolerates empty list elements", () => {
    const ch = parseChallengeHeaders([`Basic realm="a"`, ` , ,Digest realm="b", nonce="n"`]);
    assert.deepEqual(
      ch.map((c) => c.params.realm),
      ["a", "b"],
    );
  });

  it("skips junk without losing the following challenge", () => {
    const ch = parseChallenges(`Basic realm="a" junk junk, =, "x", Digest realm="b", nonce="c"`);
    assert.equal(ch[0].params.realm, "a");
    const d = ch.find((c) => c.schemeLower === "digest");
    assert.ok(d);
    assert.equal(d.params.nonce, "c");
  });

  it("handles unterminated quotes and truncation", () => {
    const [c] = parseChallenges(`Digest realm="abc`);
    assert.equal(c.params.realm, "abc");
    assert.deepEqual(parseChallenges(""), []);
    assert.deepEqual(parseChallenges("   ,,, "), []);
  });

  it("parses Authentication-Info", () => {
    const p = parseAuthParams(`nextnonce="abc", qop=auth, rspauth="0123", cnonce="x\\"y", nc=00000001`);
    assert.equal(p.nextnonce, "abc");
    assert.equal(p.rspauth, "0123");
    assert.equal(p.cnonce, 'x"y');
    assert.equal(p.nc, "00000001");
  });

  it("caps the number of challenges and parameters", () => {
    const many = Array.from({ length: 500 }, (_, i) => `S${i} a=1`).join(", ");
    assert.equal(parseChallenges(many).length, MAX_CHALLENGES);
    const params = Array.from({ length: 500 }, (_, i) => `p${i}=v`).join(", ");
    assert.equal(Object.keys(parseChallenges(`Digest ${params}`)[0].params).length, MAX_PARAMS);
  });

  it("never throws or hangs on random and truncated input (fuzz)", () => {
    const alphabet = `abcDEF019 \t,=";\\'*%+/-_.~\r\n\u00e4\u0000`;
    const seeds = [
      `Digest realm="a\\"b", nonce="n", qop="auth,auth-int", algorithm=SHA-512-256-sess, domain="/a /b", stale=true, userhash=true, charset=UTF-8`,
      `Basic realm*=UTF-8''%E2%82%AC, Bearer error="invalid_token", Negotiate abc==`,
      `rspauth="x", nextnonce="y", qop=auth-int, nc=00000002`,
    ];
    for (let round = 0; round < 3000; round++) {
      let s: string;
      if (round % 3 === 0) {
        const seed = seeds[round % seeds.length];
        s = seed.slice(0, Math.floor(Math.random() * seed.length)); // truncated
      } else if (round % 3 === 1) {
        s = Array.from(randomBytes(1 + (round % 200)), (b) => alphabet[b % alphabet.length]).join("");
      } else {
        s = randomBytes(1 + (round % 300)).toString("latin1");
      }
      const ch = parseChallenges(s);
      assert.ok(ch.length <= MAX_CHALLENGES);
      for (const c of ch) assert.ok(Object.keys(c.params).length <= MAX_PARAMS);
      parseAuthParams(s);
    }
    // A huge header is cut, not parsed in full.
    const huge = `Basic realm="${"x".repeat(1_000_000)}"`;
    assert.ok(parseChallenges(huge)[0].params.realm.length < 20_000);
  });
});
