import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MAX_STS_AGE, parseStsHeader } from "../../../src/features/hsts/index.js";

describe("parseStsHeader (RFC 6797 §6.1)", () => {
  it("reads max-age and includeSubDomains", () => {
    assert.deepEqual(parseStsHeader("max-age=31536000; includeSubDomains"), { maxAge: 31536000, includeSubDomains: true });
    assert.deepEqual(parseStsHeader("max-age=600"), { maxAge: 600, includeSubDomains: false });
  });

  it("treats directive names case-insensitively and accepts quoted values and OWS", () => {
    assert.deepEqual(parseStsHeader('  MAX-AGE = "100" ;INCLUDESUBDOMAINS ; '), { maxAge: 100, includeSubDomains: true });
    assert.deepEqual(parseStsHeader('includeSubDomains;max-age="0"'), { maxAge: 0, includeSubDomains: true });
  });

  it("skips unknown directives, including ones with quoted values", () => {
    assert.deepEqual(parseStsHeader('max-age=5; preload; foo="a;b\\"c"'), { maxAge: 5, includeSubDomains: false });
  });

  it("ignores the whole header on duplicates, a missing or bad max-age, or bad syntax", () => {
    for (const bad of [
      "max-age=5; max-age=6",
      "max-age=5; includeSubDomains; INCLUDESUBDOMAINS",
      "includeSubDomains",
      "",
      "max-age=",
      "max-age=-1",
      "max-age=1.5",
      "max-age=abc",
      'max-age="12',
      "max-age=5 6",
      "max-age=5; includeSubDomains=yes",
      "max-age=5, max-age=6",
      "=5",
      "max-age=5; ;; foo bar",
    ]) {
      assert.equal(parseStsHeader(bad), null, bad);
    }
  });

  it("clamps absurd max-age values instead of overflowing", () => {
    assert.equal(parseStsHeader(`max-age=${"9".repeat(400)}`)?.maxAge, MAX_STS_AGE);
    assert.equal(parseStsHeader("max-age=99999999999")?.maxAge, MAX_STS_AGE);
  });

  it("ignores over-long headers without parsing them", () => {
    assert.equal(parseStsHeader(`max-age=5;${" ".repeat(5000)}`), null);
  });

  it("never throws on random and truncated input (fuzz)", () => {
    const alphabet = ["m", "a", "x", "-", "g", "e", "=", ";", '"', "\\", " ", "\t", "0", "9", "i", "n", "S", ",", "\u0000", "\u00ff", "\u{1f600}"];
    const seeds = ["max-age=31536000; includeSubDomains; preload", 'max-age="0"; includeSubDomains', 'foo="bar\\"baz"; max-age=1'];
    let rnd = 12345;
    const next = () => (rnd = (rnd * 1103515245 + 12345) & 0x7fffffff);
    let parsed = 0;
    for (let n = 0; n < 20_000; n++) {
      let s: string;
      if (n % 3 === 0) {
        const seed = seeds[n % seeds.length];
        s = seed.slice(0, next() % (seed.length + 1)); // truncated
      } else {
        const len = next() % 64;
        s = "";
        for (let k = 0; k < len; k++) s += alphabet[next() % alphabet.length];
      }
      const r = parseStsHeader(s);
      if (r !== null) {
        parsed++;
        assert.ok(Number.isInteger(r.maxAge) && r.maxAge >= 0 && r.maxAge <= MAX_STS_AGE);
      }
    }
    // Truncations of valid headers that still contain a full max-age must parse.
    assert.ok(parsed > 0);
  });
});
