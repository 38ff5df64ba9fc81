/**
 * Fuzz: realtime frames and session filters, as a client or a peer could send them. A frame
 * parses or fails with ProtocolViolation (ValueTooDeep for depth); a filter compiles or fails
 * with InvalidFilterError, and a compiled filter evaluates to a boolean for any properties.
 * (src/realtime is hardened by another helper: a failure here is reported, not patched.)
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import fc from "fast-check";
import { compileFilter, InvalidFilterError, parseFilter } from "../../src/realtime/filter.js";
import { parseFrame, ProtocolViolation } from "../../src/realtime/protocol.js";
import { filterText, frameText } from "./arbitraries.js";
import { fuzz, summary, typedOrValue } from "./harness.js";

describe("fuzz: realtime", () => {
  after(() => console.log(summary()));

  it("frames: a Frame or ProtocolViolation, never a TypeError or RangeError", () => {
    fuzz(
      "realtime frames",
      frameText,
      (text) => {
        const f = typedOrValue(() => parseFrame(text), [ProtocolViolation]);
        if (!(f instanceof Error)) assert.equal(typeof f.t, "string");
      },
      { timeMs: 1000 },
    );
  });

  it("filters: a predicate or InvalidFilterError; predicates return booleans", () => {
    const props = fc.dictionary(fc.constantFrom("$Principal", "Department", "x", "not", "__proto__", "toString"), fc.string({ maxLength: 5 }));
    fuzz(
      "realtime filters",
      fc.tuple(filterText, props),
      ([text, properties]) => {
        typedOrValue(() => parseFilter(text), [InvalidFilterError]);
        const p = typedOrValue(() => compileFilter(text), [InvalidFilterError]);
        if (typeof p === "function") assert.equal(typeof p(properties), "boolean");
      },
      { timeMs: 1000 },
    );
  });
});
