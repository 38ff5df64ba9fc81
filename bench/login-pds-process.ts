/**
 * The local PDS for bench/login-refresh.ts, run in its own process (forked with tsx) so the
 * server's work does not share the client's event loop, as with a real PDS. Talks over IPC:
 * `{ id, cmd: "issue", expiredAccess }` → a session string, `{ id, cmd: "stats" }` → counters
 * (refresh calls, requests to the other endpoints, and how many of those were authorized).
 */
import { DID, FakePds, HANDLE } from "../test/login/helpers/pds-server.js";

const pds = await new FakePds().start();
process.send!({ ready: true, entryway: pds.entryway, pds: pds.pds });
process.on("message", (m: { id: number; cmd: string; expiredAccess?: boolean }) => {
  if (m.cmd === "issue") {
    const { accessJwt, refreshJwt } = pds.issue({ expiredAccess: m.expiredAccess });
    process.send!({ id: m.id, value: `${HANDLE}:::${DID}:::${accessJwt}:::${refreshJwt}:::${pds.pds}` });
  } else if (m.cmd === "stats") {
    process.send!({ id: m.id, value: { refreshes: pds.refreshes, requests: pds.requests, authorized: pds.authorized } });
  } else if (m.cmd === "close") {
    void pds.close().then(() => process.exit(0));
  }
});
// If the bench dies (an exception, Ctrl-C), do not linger as an orphan.
process.on("disconnect", () => process.exit(0));
