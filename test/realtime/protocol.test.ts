import assert from "node:assert/strict";
import { test } from "node:test";
import { CloseReason, closeCodeOf, closeReasonFromCode } from "../../src/realtime/index.js";
import { messageBody, parseFrame, ProtocolViolation, responseBody, sequencedText } from "../../src/realtime/protocol.js";
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
