import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseStoredJson } from "../../src/server/json.js";

describe("parseStoredJson", () => {
  it("reads back exactly what JSON.parse reads for any JSON.stringify output", () => {
    const values: unknown[] = [
      0,
      -0,
      1,
      -1,
      42,
      3.14,
      -2.5e-7,
      1e21,
      1.7976931348623157e308,
      5e-324,
      Number.MAX_SAFE_INTEGER,
      -Number.MAX_SAFE_INTEGER,
      "",
      "a",
      "plain text",
      "ünïcödé ✓",
      "emoji 😀",
      'with "quotes"',
      "back\\slash",
      "new\nline",
      "tab\t",
      "\u0000nul",
      "\ud800 lone surrogate",
      "123",
      "-1",
      "true",
      "null",
      '"quoted"',
      true,
      false,
      null,
      [],
      [1, "two", null],
      {},
      { a: 1, b: { c: [true] } },
      { __proto__: 1, constructor: "x" },
    ];
    for (const value of values) {
      const text = JSON.stringify(value);
      assert.deepEqual(parseStoredJson(text), JSON.parse(text), text);
    }
    // A random sweep of numbers and strings.
    for (let i = 0; i < 2000; i++) {
      const n = (Math.random() - 0.5) * 10 ** Math.floor(Math.random() * 40 - 20);
      assert.equal(parseStoredJson(JSON.stringify(n)), JSON.parse(JSON.stringify(n)));
      const s = String.fromCharCode(...Array.from({ length: i % 12 }, () => Math.floor(Math.random() * 0x3000)));
      assert.equal(parseStoredJson(JSON.stringify(s)), s);
    }
  });

  it("keeps __proto__ keys as data, like JSON.parse", () => {
    const parsed = parseStoredJson('{"__proto__":{"polluted":true}}') as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(parsed), Object.prototype);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.deepEqual(Object.keys(parsed), ["__proto__"]);
  });
});
