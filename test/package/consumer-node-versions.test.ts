/**
 * The consumer project's runtime checks (consumer.test.ts) on Node 22 and 24, with the
 * binaries of the `node` package from the npm registry (node-versions.ts). Without a
 * reachable registry the test skips and prints why; any other failure fails it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { SLOW, consumerProject, exec } from "./consumer-project.js";
import { nodeBinary } from "./node-versions.js";

for (const major of [22, 24]) {
  test(`every entry point loads through import and require() on Node ${major} (the npm "node" package)`, SLOW, async (t) => {
    const [{ dir }, node] = await Promise.all([consumerProject(), nodeBinary(major)]);
    if (!node.ok) {
      console.log(`*** skipping Node ${major}: ${node.reason} ***`);
      t.skip(node.reason);
      return;
    }
    assert.match(node.version, new RegExp(`^v${major}\\.`));
    assert.match(await exec(node.path, ["runtime.mjs"], dir), new RegExp(`^ok v${major}\\.`, "m"));
    assert.match(await exec(node.path, ["runtime.cjs"], dir), new RegExp(`^ok v${major}\\.`, "m"));
  });
}
