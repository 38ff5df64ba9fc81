/**
 * Bluesky (or any PDS) with a session that survives restarts: the first run logs in with
 * an app password, every later run imports the saved session string, and the file is
 * rewritten on every CREATE and REFRESH (as the atproto SDK recommends), so it is never
 * older than the tokens in use. The string is the atproto Python SDK's format: a session
 * saved by that SDK works here and the other way round.
 *
 *   BSKY_HANDLE=you.bsky.social BSKY_APP_PASSWORD=xxxx-xxxx-xxxx-xxxx npx tsx examples/login-atproto.ts
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { AtprotoSession, SessionEvent } from "../src/login/index.js";

const SESSION_FILE = process.env.BSKY_SESSION_FILE ?? ".bsky-session";

await using bsky = new AtprotoSession({ service: process.env.BSKY_SERVICE ?? "https://bsky.social" });

bsky.onSessionChange((event, change) => {
  if (event === SessionEvent.CREATE || event === SessionEvent.REFRESH) {
    writeFileSync(SESSION_FILE, change.sessionString!, { mode: 0o600 });
  } else if (event === SessionEvent.EXPIRED || event === SessionEvent.LOGOUT) {
    rmSync(SESSION_FILE, { force: true });
  }
  console.log(`session ${event}`, change.info); // info has no secrets: handle, did, pdsEndpoint
});

if (existsSync(SESSION_FILE)) {
  await bsky.login({ sessionString: readFileSync(SESSION_FILE, "utf8").trim() });
} else {
  const identifier = process.env.BSKY_HANDLE;
  const password = process.env.BSKY_APP_PASSWORD;
  if (!identifier || !password) throw new Error("Set BSKY_HANDLE and BSKY_APP_PASSWORD for the first login");
  await bsky.login({ identifier, password });
}

const profile = await bsky.get<{ handle: string; followersCount?: number }>("app.bsky.actor.getProfile", { actor: bsky.did! });
console.log(`${profile.handle}: ${profile.followersCount ?? 0} followers (PDS ${bsky.pdsEndpoint})`);
