import assert from "node:assert/strict";
import { test } from "node:test";
import { CloseReason, closeCodeOf, closeReasonFromCode } from "../../src/realtime/index.js";
import fc from "fast-check";
import {
  DEFAULT_MAX_VALUE_DEPTH,
  InvalidValueError,
  isCanonicalBase64,
  jsonDepthExceeds,
  messageBody,
  parseFrame,
  ProtocolViolation,
  responseBody,
  sequencedText,
  ValueTooDeep,
} from "../../src/realtime/protocol.js";
import { ReplayBuffer } from "../../src/realtime/replay-buffer.js";
import { isSessionId, newSessionId } from "../../src/realtime/session-id.js";
import { hashToken, newResumeToken, tokenMatches } from "../../src/realtime/tokens.js";

test("session ids are two 16-hex-digit halves and do not repeat", () => {
  const ids = new Set(Array.from({ length: 1000 }, newSessionId));
  assert.equal(ids.size, 1000);
  for (const id of ids) assert.match(id, /^[0-9a-f]{16}-[0-9a-f]{16}$/);
  assert.ok(!isSessionId("0123-4567"));
});

test("close reasons map to close codes 4000 + id and back", () => {
  const ids = new Set<number>();
  for (const r of Object.values(CloseReason)) {
    assert.ok(!ids.has(r.id), `duplicate id ${r.id}`);
    ids.add(r.id);
    assert.equal(closeReasonFromCode(closeCodeOf(r)), r);
  }
  assert.equal(closeCodeOf(CloseReason.ACCESS_DENIED), 4011);
  assert.equal(closeReasonFromCode(1006), undefined);
  assert.equal(closeReasonFromCode(4999), undefined);
});

test("frames round-trip JSON and bytes", () => {
  const m = parseFrame(sequencedText(3, messageBody("m", "a/b", { x: [1, "two", null] })));
  assert.ok(m.t === "m");
  assert.deepEqual([m.s, m.p, m.value], [3, "a/b", { x: [1, "two", null] }]);
  const b = parseFrame(sequencedText(4, messageBody("q", "bin", new Uint8Array([0, 1, 254, 255]))));
  assert.ok(b.t === "q" && b.value instanceof Uint8Array);
  assert.deepEqual([...(b.value as Uint8Array)], [0, 1, 254, 255]);
  const e = parseFrame(sequencedText(5, responseBody(4, { error: { code: "NO_HANDLER", message: "none" } })));
  assert.deepEqual(e, { t: "r", s: 5, c: 4, error: { code: "NO_HANDLER", message: "none" } });
});

test("garbage frames are protocol violations", () => {
  for (const bad of [
    "",
    "nope",
    "[]",
    "null",
    "{}",
    '{"t":"zz"}',
    '{"t":"m","s":0,"p":"x","d":1}',
    '{"t":"m","s":1,"p":"","d":1}',
    '{"t":"m","s":1.5,"p":"x","d":1}',
    '{"t":"m","s":1,"p":"x"}',
    '{"t":"a","a":-1}',
    '{"t":"hello","v":1}',
    '{"t":"resume","v":1,"sessionId":"x"}',
  ]) {
    assert.throws(() => parseFrame(bad), ProtocolViolation, bad);
  }
});

test("resume tokens compare by hash", () => {
  const t = newResumeToken();
  assert.ok(tokenMatches(t, hashToken(t)));
  assert.ok(!tokenMatches(newResumeToken(), hashToken(t)));
  assert.ok(!tokenMatches("", hashToken(t)));
});

test("replay buffer keeps what is unacknowledged and knows what it lost", () => {
  const b = new ReplayBuffer(3);
  for (let s = 1; s <= 3; s++) {
    assert.ok(b.push(s, `f${s}`));
    b.markWritten(s);
  }
  b.ack(1);
  assert.deepEqual(
    [...b.entriesAfter(1)].map(([s]) => s),
    [2, 3],
  );
  assert.ok(b.canReplayFrom(1));
  assert.ok(!b.canReplayFrom(0)); // 1 was acknowledged and forgotten
  assert.ok(!b.canReplayFrom(4)); // from the future
  assert.ok(b.push(4, "f4")); // fits: 2, 3, 4
  assert.ok(b.push(5, "f5")); // full: drops 2, which was written (the peer may have it)
  assert.ok(b.push(6, "f6")); // drops 3
  assert.ok(!b.canReplayFrom(2)); // 3 is gone now
  assert.ok(b.canReplayFrom(3));
  assert.equal(b.push(7, "f7"), false); // drops 4, never written: certain loss
});

test("the decoder checks every field's type and refuses loose base64, with a ProtocolViolation and nothing else", () => {
  for (const bad of [
    // issue 12 (7): a TypeError from String() before, now a protocol violation
    '{"t":"r","s":1,"c":0,"e":{"code":{"toString":"m"}}}',
    '{"t":"r","s":1,"c":0,"e":{"code":"X","message":{"toString":"m"}}}',
    '{"t":"r","s":1,"c":0,"e":{"code":"X"}}',
    '{"t":"r","s":1,"c":0,"e":"boom"}',
    '{"t":"r","s":1,"c":0,"e":null}',
    '{"t":"r","s":1,"c":0,"e":{"code":"","message":""}}',
    '{"t":"r","s":1,"c":0,"e":{"code":"X","message":"m"},"d":1}',
    // "b":"%%%" decoded as zero bytes before
    '{"t":"m","s":1,"p":"x","b":"%%%"}',
    '{"t":"m","s":1,"p":"x","b":"QUJD RA=="}',
    '{"t":"m","s":1,"p":"x","b":"QUJDRA"}',
    '{"t":"m","s":1,"p":"x","b":"QUJDRB=="}', // non-zero padding bits
    '{"t":"m","s":1,"p":"x","b":"QQ==QQ=="}',
    '{"t":"m","s":1,"p":"x","b":"QUJDRA-_"}',
    '{"t":"m","s":1,"p":"x","b":5}',
    '{"t":"m","s":1,"p":"x","b":"QQ==","d":1}',
    '{"t":"m","s":1,"p":7,"d":1}',
    '{"t":"ping","ts":"1"}',
    '{"t":"pong","ts":1,"now":"x"}',
    '{"t":"hello","v":"1","principal":"","credentials":""}',
    '{"t":"hello","v":1,"principal":1,"credentials":""}',
    '{"t":"hello","v":1,"principal":"","credentials":"","properties":"x"}',
    '{"t":"resume","v":1,"sessionId":1,"token":"t","ack":0}',
    '{"t":"welcome","sessionId":"a","token":"t","properties":{"a":1},"ack":0,"ping":1,"keepAlive":1,"maxMessageSize":1}',
    '{"t":"welcome","sessionId":"a","token":"t","properties":{},"ack":0,"ping":1,"keepAlive":"1","maxMessageSize":1}',
    '{"t":"resumed","ack":0,"ping":1,"keepAlive":1}',
    '{"t":"resumed","ack":0,"ping":0,"keepAlive":1,"maxMessageSize":1}',
  ]) {
    assert.throws(() => parseFrame(bad), ProtocolViolation, bad);
  }
  // Strict and canonical, but everything well-formed still passes.
  for (const [b64, bytes] of [
    ["", []],
    ["QQ==", [65]],
    ["QUI=", [65, 66]],
    ["QUJD", [65, 66, 67]],
    ["+/8=", [251, 255]],
  ] as const) {
    assert.ok(isCanonicalBase64(b64), b64);
    const f = parseFrame(`{"t":"m","s":1,"p":"x","b":"${b64}"}`);
    assert.ok(f.t === "m" && f.value instanceof Uint8Array);
    assert.deepEqual([...(f.value as Uint8Array)], bytes);
  }
  const w = parseFrame(
    '{"t":"welcome","sessionId":"a","token":"t","properties":{"k":"v"},"ack":0,"ping":5,"keepAlive":6,"maxMessageSize":7,"extra":1}',
  );
  assert.deepEqual(w, { t: "welcome", sessionId: "a", token: "t", properties: { k: "v" }, ack: 0, ping: 5, keepAlive: 6, maxMessageSize: 7 });
});

test("values nested deeper than the limit are refused before parsing (ValueTooDeep), at any size", () => {
  const nested = (n: number) => "[".repeat(n) + "]".repeat(n);
  assert.ok(parseFrame(`{"t":"m","s":1,"p":"x","d":${nested(DEFAULT_MAX_VALUE_DEPTH)}}`));
  assert.throws(() => parseFrame(`{"t":"m","s":1,"p":"x","d":${nested(DEFAULT_MAX_VALUE_DEPTH + 1)}}`), ValueTooDeep);
  assert.throws(() => parseFrame(`{"t":"m","s":1,"p":"x","d":${nested(1_000_000)}}`), ValueTooDeep);
  assert.throws(() => parseFrame(`{"t":"m","s":1,"p":"x","d":{"a":{"b":[1]}}}`, { maxValueDepth: 2 }), ValueTooDeep);
  // Brackets inside strings (escaped quotes too) do not count.
  assert.ok(parseFrame(`{"t":"m","s":1,"p":"x","d":"\\"${"[".repeat(500)}"}`));
  assert.equal(jsonDepthExceeds(`["]]]]\\"[[[[["]`, 1), false);
  assert.equal(jsonDepthExceeds(`[[1]]`, 1), true);
});

test("encoding refuses what JSON cannot carry with INVALID_VALUE instead of a raw TypeError or RangeError", () => {
  let deep: unknown = [];
  for (let i = 0; i < 100_000; i++) deep = [deep];
  const cycle: Record<string, unknown> = {};
  cycle.me = cycle;
  for (const v of [deep, cycle, 1n]) {
    assert.throws(
      () => messageBody("m", "x", v as never),
      (err: unknown) => err instanceof InvalidValueError && err.code === "INVALID_VALUE",
    );
  }
  // A function at the top encodes as null, as inside an array, instead of a broken frame.
  const f = parseFrame(sequencedText(1, messageBody("m", "x", (() => 1) as never)));
  assert.ok(f.t === "m" && f.value === null);
});

test("fuzz: any text or mutated frame parses to a frame or fails with a ProtocolViolation (seeded)", () => {
  const seed = Number(process.env.FUZZ_SEED ?? 12345);
  const frames = [
    sequencedText(1, messageBody("m", "p", { a: [1, 2] })),
    sequencedText(2, messageBody("q", "p", new Uint8Array([1, 2, 3]))),
    sequencedText(3, responseBody(1, { error: { code: "X", message: "y" } })),
    '{"t":"a","a":3}',
    '{"t":"hello","v":1,"principal":"p","credentials":"AAA=","properties":{"k":"v"}}',
    '{"t":"welcome","sessionId":"a","token":"t","properties":{},"ack":0,"ping":1,"keepAlive":1,"maxMessageSize":1}',
  ];
  const mutated = fc.tuple(fc.constantFrom(...frames), fc.nat(), fc.string({ maxLength: 8 }), fc.nat({ max: 4 })).map(([f, at, insert, cut]) => {
    const i = at % (f.length + 1);
    return f.slice(0, i) + insert + f.slice(i + cut);
  });
  const values = fc.jsonValue().map((v) => JSON.stringify({ t: "r", s: 1, c: 1, e: v }));
  const objects = fc
    .dictionary(
      fc.constantFrom("t", "s", "p", "c", "d", "b", "e", "a", "ts", "now", "v", "principal", "credentials", "properties", "ack"),
      fc.jsonValue(),
    )
    .map((o) => JSON.stringify(o));
  const typed = fc
    .tuple(
      fc.constantFrom("m", "q", "r", "a", "ping", "pong", "hello", "resume", "welcome", "resumed"),
      fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue()),
    )
    .map(([t, o]) => JSON.stringify({ ...o, t }));
  fc.assert(
    fc.property(fc.oneof(fc.string(), mutated, values, objects, typed), (text) => {
      try {
        const frame = parseFrame(text);
        assert.equal(typeof frame.t, "string");
      } catch (err) {
        if (!(err instanceof ProtocolViolation)) throw err;
      }
    }),
    { seed, numRuns: 3000, interruptAfterTimeLimit: 10_000 },
  );
});
