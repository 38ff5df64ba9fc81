/**
 * A credential session against a local PDS-like server (lib/local-pds.mjs): log in with a
 * password, export the session string, import it into a second session (as a program
 * restarted the next day would), and see the expired access token refreshed once for
 * everyone waiting. Against Bluesky, pass `service: "https://bsky.social"` and an app password.
 *
 *   node examples/login-pds.mjs
 */
import assert from "node:assert/strict";
import { AtprotoSession } from "sessionkit/login";
import { HANDLE, PASSWORD, startLocalPds } from "./lib/local-pds.mjs";

const pds = await startLocalPds();
const first = new AtprotoSession({ service: pds.url });
let restored;
try {
  first.onSessionChange((event, change) => console.log(`first session: ${event} (${change.info?.handle})`));
  await first.login({ identifier: HANDLE, password: PASSWORD });
  const saved = first.exportSessionString(); // a secret: store it like a password
  await first.close();

  restored = new AtprotoSession({ service: pds.url });
  restored.onSessionChange((event) => console.log(`restored session: ${event}`));
  await restored.login({ sessionString: saved }); // no password, no login round trip
  console.log(`whoami: ${JSON.stringify(await restored.get("app.example.whoami"))}`);

  // The server revokes the access token: ten requests at once share one refresh.
  pds.expireAccessTokens();
  const answers = await Promise.all(Array.from({ length: 10 }, () => restored.get("app.example.whoami")));
  console.log(`10 requests after expiry: ${answers.length} answered, ${pds.stats.refreshes} refresh, ${pds.stats.logins} login`);
  assert.equal(pds.stats.refreshes, 1);
  assert.equal(pds.stats.logins, 1);
} finally {
  await first.close();
  await restored?.close();
  await pds.close();
}
