/**
 * `sessionkit login apikey` / `logout` against the local astrometry-like server.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { FakeAstrometry, API_KEY } from "../login/helpers/astrometry-server.js";
import { cli, tempConfig } from "./helpers.js";

test("apikey: the key from a file, the session key added to request-json, a forgotten session logged in again by itself", async () => {
  using cfg = tempConfig();
  const api = await new FakeAstrometry().start();
  try {
    const missing = await cli(["login", "apikey", "--session", "nova", "--api-url", api.url], { env: { ...cfg.env, ASTROMETRY_API_KEY: undefined } });
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /^sessionkit: error: API_KEY_MISSING: /);

    const keyFile = join(cfg.dir, "key.txt");
    writeFileSync(keyFile, `${API_KEY}\n`);
    const login = await cli(["login", "apikey", "--session", "nova", "--api-url", api.url, "--key-file", keyFile], { env: cfg.env });
    assert.equal(login.status, 0, login.stderr);
    assert.equal(api.logins, 1);

    const r = await cli([`${api.url}jobs`, "--form", 'request-json={"x":1}', "--session", "nova"], { env: cfg.env });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).status, "success");
    assert.equal(api.received.at(-1)!.x, 1);
    assert.equal(typeof api.received.at(-1)!.session, "string");

    api.invalidateSessions();
    const relogin = await cli([`${api.url}jobs`, "--form", 'request-json={"x":2}', "--session", "nova"], { env: cfg.env });
    assert.equal(relogin.status, 0, relogin.stderr);
    assert.equal(JSON.parse(relogin.stdout).status, "success");
    assert.equal(api.logins, 2, "logged in again with the kept key");
    const v = await cli(["sessions", "show", "nova", "--json"], { env: cfg.env });
    assert.equal(JSON.parse(v.stdout).login.apiKey, "[REDACTED]");
    assert.ok(!v.stdout.includes(API_KEY));

    const logout = await cli(["logout", "--session", "nova"], { env: cfg.env });
    assert.equal(logout.status, 0, logout.stderr);
    const after = await cli([`${api.url}jobs`, "--form", 'request-json={"x":3}', "--session", "nova"], { env: cfg.env });
    assert.equal(JSON.parse(after.stdout).status, "error", "after logout requests go without the session key");
  } finally {
    await api.close();
  }
});
