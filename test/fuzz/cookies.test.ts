/**
 * Fuzz: Set-Cookie through the client jar (tough-cookie plus the jar's guards) and the
 * server's cookie reader and signature verifier. The jar never rejects for a string header
 * and never stores a cookie it would not send back cleanly; the verifier accepts no value
 * that was not signed, however close to a signed one.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, it } from "node:test";
import fc from "fast-check";
import { CookieJar } from "../../src/features/cookies/cookie-jar.js";
import { CookieSigner, readCookieValues } from "../../src/server/cookie.js";
import { anyHeader } from "./arbitraries.js";
import { fuzz, fuzzAsync, summary } from "./harness.js";

describe("fuzz: cookies", () => {
  after(() => console.log(summary()));

  it("Set-Cookie via the jar: stored or refused, never a rejection; what it sends back is one clean header", async () => {
    const urls = ["https://www.example.com/a/b", "http://example.com/", "https://127.0.0.1:8443/x", "https://sub.example.co.uk/"];
    await fuzzAsync(
      "set-cookie via jar",
      fc.tuple(fc.array(anyHeader, { minLength: 1, maxLength: 4 }), fc.constantFrom(...urls)),
      async ([headers, url]) => {
        const jar = new CookieJar();
        for (const h of headers) {
          const c = await jar.setCookie(url, h);
          if (c !== null) {
            assert.equal(typeof c.name, "string");
            assert.equal((JSON.parse(JSON.stringify(c)) as { value: string }).value, "<redacted>");
          }
        }
        const header = await jar.getCookieHeader(url);
        assert.ok(header === null || !/[\r\n\0]/.test(header), `unsafe Cookie header ${JSON.stringify(header)}`);
      },
      { numRuns: 1500 },
    );
  });

  it("server cookie reader and signature verifier: no forged value verifies", () => {
    const signer = new CookieSigner([randomBytes(32), randomBytes(32)]);
    const id = randomBytes(32).toString("base64url").slice(0, 43);
    const good = signer.sign(id);
    assert.equal(signer.check(good)?.id, id);
    const mutated = fc
      .tuple(fc.nat(good.length - 1), fc.constantFrom(..."AZaz09-_.=+/ "))
      .map(([i, ch]) => good.slice(0, i) + ch + good.slice(i + 1));
    fuzz("server cookie verifier", fc.oneof(anyHeader, mutated), (value) => {
      const v = signer.check(value);
      assert.ok(v === undefined || value === good, `forged value verified: ${JSON.stringify(value)}`);
      assert.ok(signer.verify(value) === undefined || value === good);
      const values = readCookieValues(`a=1; sid=${value}; b=2`, "sid");
      assert.ok(values.length >= 1 || value.includes(";"), "the cookie is found unless its value splits it");
      readCookieValues(value, "sid");
    });
  });
});
