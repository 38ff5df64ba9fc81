/**
 * `sessionkit login atproto` / `logout` and requests through the saved login, against the
 * local PDS-like server of the login tests.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { FakePds, HANDLE, PASSWORD } from "../login/helpers/pds-server.js";
import { cli, tempConfig } from "./helpers.js";

const secretsOf = (cfg: { dir: string }, name: string) =>
  JSON.parse(readFileSync(join(cfg.dir, "sessionkit", "sessions", name, "secrets.json"), "utf8")) as { login?: { sessionString: string } };

test("atproto: one refresh across two commands, the rotated token on disk at once; concurrent commands refresh once", async () => {
  using cfg = tempConfig();
  const pds = await new FakePds().start();
  try {
    const login = await cli(["login", "atproto", "--session", "bsky", "--identifier", HANDLE, "--service", pds.entryway], {
      env: { ...cfg.env, SESSIONKIT_PASSWORD: PASSWORD },
    });
    assert.equal(login.status, 0, login.stderr);
    assert.match(login.stderr, /Logged in: alice\.test \(did:plc:alice123\)/);
    assert.equal(pds.logins, 1);
    assert.ok(!login.stderr.includes(PASSWORD));

    const url = `${pds.pds}/xrpc/app.bsky.actor.getProfile`;
    const ok = await cli([url, "actor==alice.test", "--session", "bsky"], { env: cfg.env });
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(JSON.parse(ok.stdout).ok, true);
    assert.equal(pds.refreshes, 0);

    pds.expireAccessTokens();
    const first = await cli([url, "--session", "bsky"], { env: cfg.env });
    assert.equal(first.status, 0, first.stderr);
    assert.equal(pds.refreshes, 1);
    const saved = secretsOf(cfg, "bsky").login!.sessionString;
    assert.equal(saved.split(":::")[3], pds.currentRefresh, "the rotated refresh token is on disk");
    const second = await cli([url, "--session", "bsky"], { env: cfg.env });
    assert.equal(second.status, 0, second.stderr);
    assert.equal(pds.refreshes, 1, "the next command uses the saved tokens without refreshing");

    // Two commands at once after expiry: the session lock lets one refresh; the other uses its result.
    // The refresh answer is held back, so both commands are started while it is pending.
    pds.options.refreshDelay = 2000;
    pds.expireAccessTokens();
    const both = await Promise.all([cli([url, "--session", "bsky"], { env: cfg.env }), cli([url, "--session", "bsky"], { env: cfg.env })]);
    for (const r of both) assert.equal(r.status, 0, r.stderr);
    assert.equal(pds.refreshes, 2);
    assert.equal(pds.refreshAttempts, 2, "no refresh token was presented twice");

    const show = await cli(["sessions", "show", "bsky"], { env: cfg.env });
    assert.match(show.stdout, /Login: atproto alice\.test \(did:plc:alice123\) via http:\/\/127\.0\.0\.1:\d+, logged in .*access token until/);
    assert.ok(!show.stdout.includes(pds.currentRefresh!), "no token in sessions show");

    const logout = await cli(["logout", "--session", "bsky"], { env: cfg.env });
    assert.equal(logout.status, 0, logout.stderr);
    assert.equal(pds.deletes, 1);
    assert.equal(secretsOf(cfg, "bsky").login, undefined);
  } finally {
    await pds.close();
  }
});

test("atproto: a login that cannot be refreshed fails with SESSION_EXPIRED and says to log in again", async () => {
  using cfg = tempConfig();
  const pds = await new FakePds().start();
  try {
    const login = await cli(["login", "atproto", "--session", "old", "--identifier", HANDLE, "--service", pds.entryway], {
      env: { ...cfg.env, SESSIONKIT_PASSWORD: PASSWORD },
    });
    assert.equal(login.status, 0, login.stderr);
    const wrong = await cli(["login", "atproto", "--session", "bad", "--identifier", HANDLE, "--service", pds.entryway], {
      env: { ...cfg.env, SESSIONKIT_PASSWORD: "wrong-password-xyz" },
    });
    assert.equal(wrong.status, 1);
    assert.match(wrong.stderr, /^sessionkit: error: LOGIN_FAILED: [^\n]*\n$/);
    assert.ok(!wrong.stderr.includes("wrong-password-xyz"), "the echoed password is scrubbed");

    pds.refreshRevoked = true;
    pds.expireAccessTokens();
    const r = await cli([`${pds.pds}/xrpc/app.bsky.feed.getTimeline`, "--session", "old"], { env: cfg.env });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^sessionkit: error: SESSION_EXPIRED: .*log in again \(sessionkit login atproto --session old/);
    const again = await cli([`${pds.pds}/xrpc/app.bsky.feed.getTimeline`, "--session", "old"], { env: cfg.env });
    assert.match(again.stderr, /SESSION_EXPIRED/);
    const show = await cli(["sessions", "show", "old", "--json"], { env: cfg.env });
    assert.ok(JSON.parse(show.stdout).login.expired);
  } finally {
    await pds.close();
  }
});
