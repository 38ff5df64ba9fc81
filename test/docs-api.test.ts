/**
 * The API reference (TypeDoc, typedoc.json) builds from the TSDoc comments of every entry
 * point with warnings treated as errors, so a broken {@link} or a bad tag fails the suite.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exec } from "./package/consumer-project.js";
import { ROOT } from "./package/pack.js";

test("the API reference builds from the TSDoc comments, warnings as errors", { timeout: 600_000 }, async () => {
  const out = mkdtempSync(join(tmpdir(), "sessionkit-typedoc-"));
  try {
    await exec(join(ROOT, "node_modules", ".bin", "typedoc"), ["--out", out, "--treatWarningsAsErrors"], ROOT);
    assert.ok(existsSync(join(out, "index.html")));
    for (const entry of ["login", "realtime", "server"]) assert.ok(existsSync(join(out, "modules", `${entry}.html`)), `${entry} is documented`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
