/** Clear option errors (issue 13): a missing secret says a secret is required. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sessionMiddleware } from "../../src/server/index.js";

describe("sessionMiddleware option errors", () => {
  it("says a secret is required when there is none", () => {
    for (const options of [{}, { secret: undefined }, { secret: null }]) {
      assert.throws(
        () => sessionMiddleware(options as never),
        (e: Error & { code?: string }) => e.code === "INVALID_ARGUMENT" && /secret is required/.test(e.message) && /options\.secret/.test(e.message),
      );
    }
  });

  it("still names the bad entry when a secret is given but wrong", () => {
    assert.throws(() => sessionMiddleware({ secret: [42 as never] }), /secret\[0\] must be a string or a Buffer/);
    assert.throws(() => sessionMiddleware({ secret: [] }), /must not be an empty list/);
  });
});
