/**
 * Fuzz: what the credential sessions read from outside: session strings (sessionkit:1: and
 * atproto's `:::` form), persisted states, JWT claims and PDS endpoints. Every input is a
 * value or the typed error (INVALID_SESSION_STRING, INSECURE_ENDPOINT); never another throw.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import fc from "fast-check";
import { AtprotoProfile, normalizeEndpoint, parseAtprotoSessionString, pdsFromDidDoc } from "../../src/login/atproto-profile.js";
import { InsecureEndpointError, InvalidSessionStringError } from "../../src/login/errors.js";
import { decodeJwtClaims, jwtExpiresAt } from "../../src/login/jwt.js";
import { decodeSessionString, encodeSessionString } from "../../src/login/session-string.js";
import { anyHeader, base64urlOf, jwtLike } from "./arbitraries.js";
import { fuzz, summary, typedOrValue } from "./harness.js";

const TYPED = [InvalidSessionStringError, InsecureEndpointError];
const endpoint = fc.oneof(
  fc.constantFrom("https://pds.example", "http://127.0.0.1:2583", "http://169.254.169.254", "http://[::1]", "javascript:x", "https://u:p@x", ""),
  fc.webUrl(),
  anyHeader,
);

describe("fuzz: login inputs", () => {
  after(() => console.log(summary()));

  it("sessionkit:1: strings and persisted atproto states", () => {
    const profile = new AtprotoProfile("https://entryway.example");
    const state = fc.record({
      handle: fc.oneof(anyHeader, fc.jsonValue()),
      did: fc.oneof(fc.constant("did:plc:abc"), anyHeader),
      accessJwt: jwtLike,
      refreshJwt: jwtLike,
      pdsEndpoint: endpoint,
    });
    const text = fc.oneof(
      state.map((s) => encodeSessionString(fc.sample(fc.constantFrom("atproto", "other"), 1)[0], s)),
      base64urlOf.map((b) => `sessionkit:1:${b}`),
      fc.tuple(fc.string({ maxLength: 6 }), base64urlOf).map(([v, b]) => `sessionkit:${v}:${b}`),
      anyHeader,
    );
    fuzz("sessionkit session string", fc.oneof(text, fc.jsonValue()), (value) => {
      const decoded = typedOrValue(() => decodeSessionString(value, "atproto"), TYPED);
      if (decoded instanceof Error) return;
      const s = typedOrValue(() => profile.decodeState(decoded), TYPED);
      if (!(s instanceof Error))
        assert.ok(s.pdsEndpoint.startsWith("https://") || /^http:\/\/(127\.|localhost|\[::1\])/.test(s.pdsEndpoint), s.pdsEndpoint);
    });
  });

  it("atproto `handle:::did:::access:::refresh:::pds` strings", () => {
    const parts = fc.array(fc.oneof(anyHeader, jwtLike, endpoint, fc.constant("did:plc:abc")), { minLength: 1, maxLength: 6 });
    fuzz(
      "atproto session string",
      fc.oneof(
        parts.map((p) => p.join(":::")),
        anyHeader,
      ),
      (value) => {
        const s = typedOrValue(() => parseAtprotoSessionString(value), TYPED);
        if (s !== null && !(s instanceof Error)) assert.ok(!s.pdsEndpoint.startsWith("http://169.254"));
      },
    );
  });

  it("JWT claims and PDS endpoints from DID documents", () => {
    fuzz("jwt + did doc", fc.tuple(jwtLike, fc.jsonValue({ maxDepth: 4 }), endpoint), ([token, doc, ep]) => {
      const claims = decodeJwtClaims(token);
      assert.ok(claims === null || (typeof claims === "object" && !Array.isArray(claims)));
      const exp = jwtExpiresAt(token);
      // Not Number.isFinite: an `exp` near Number.MAX_VALUE reads as Infinity (never expires
      // proactively; the server's refusal still triggers a refresh). Reported, jwt.ts is not ours.
      assert.ok(exp === null || exp > 0);
      pdsFromDidDoc(doc);
      pdsFromDidDoc({ id: "did:plc:a", service: [{ id: "#atproto_pds", type: "AtprotoPersonalDataServer", serviceEndpoint: ep }] }, "did:plc:a");
      const n = normalizeEndpoint(ep);
      assert.ok(n === null || /^https?:\/\//.test(n));
    });
  });
});
