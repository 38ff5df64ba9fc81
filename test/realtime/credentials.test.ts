import assert from "node:assert/strict";
import { inspect } from "node:util";
import { test } from "node:test";
import { Credentials } from "../../src/realtime/index.js";

test("Credentials encode exactly as Diffusion's", () => {
  assert.equal(new Credentials("bar").password, "AQNiYXI=");
  assert.equal(new Credentials(Buffer.from("bla")).password, "AgNibGE=");
  assert.equal(new Credentials("bar").type, "PLAIN_PASSWORD");
  assert.equal(new Credentials(new Uint8Array([1])).type, "CUSTOM");
  for (const empty of [undefined, null, "", new Uint8Array(0)]) {
    const c = new Credentials(empty);
    assert.equal(c.type, "NONE");
    assert.equal(c.password, "AAA=");
  }
});

test("lengths of 128 bytes and more use a multi-byte LEB128", () => {
  const secret = "x".repeat(300);
  const raw = Buffer.from(new Credentials(secret).password, "base64");
  assert.deepEqual([...raw.subarray(0, 3)], [1, 0xac, 0x02]); // 300 = 0b10_0101100
  assert.equal(raw.length, 3 + 300);
  const back = Credentials.fromPassword(new Credentials(secret).password);
  assert.equal(back.type, "PLAIN_PASSWORD");
  assert.equal(back.text(), secret);
});

test("fromPassword round-trips and rejects malformed input", () => {
  const bytes = new Uint8Array([0, 255, 7]);
  const c = Credentials.fromPassword(new Credentials(bytes).password);
  assert.equal(c.type, "CUSTOM");
  assert.deepEqual(c.bytes(), bytes);
  assert.equal(Credentials.fromPassword("AAA=").type, "NONE");
  for (const bad of ["", "!!!", "BQNiYXI=", "AQRiYXI=", "AQNiYQ==", "AP////8P"]) {
    assert.throws(() => Credentials.fromPassword(bad), { code: "INVALID_ARGUMENT" }, bad);
  }
});

test("the secret never shows in inspect, JSON or String", () => {
  const c = new Credentials("hunter2");
  for (const text of [inspect(c), JSON.stringify(c), String(c), inspect({ nested: c }, { depth: 5 })]) {
    assert.ok(!text.includes("hunter2"), text);
    assert.ok(!text.includes(c.password), text);
  }
});
