/**
 * A realtime server and a client session in one process: authentication, a request
 * handler, and a dropped connection that the session recovers with the same session id,
 * delivering what was sent while it was down.
 *
 *   node examples/realtime.mjs
 */
import assert from "node:assert/strict";
import { RealtimeServer, RealtimeSession } from "sessionkit/realtime";

const server = new RealtimeServer({ authenticator: (principal, credentials) => principal === "alice" && credentials.text() === "wonderland" });
server.addHandler("echo", (value, from) => ({ echoed: value, by: from.principal }));
const url = await server.listen(0); // ws://127.0.0.1:<port>/realtime

const alice = new RealtimeSession(url, { principal: "alice", credentials: "wonderland" });
try {
  alice.on("state", (state, previous) => console.log(`client: ${previous} → ${state}`));
  await alice.connect();
  const id = alice.sessionId;
  console.log(`connected; echo: ${JSON.stringify(await alice.request("echo", "hello"))}`);

  // The network drops under the client; a request made meanwhile waits for the recovery.
  const recovered = new Promise((resolve) => alice.once("recovered", resolve));
  server.getSession(id).socket.terminate();
  const pending = alice.request("echo", "sent while disconnected");
  await recovered;
  console.log(`recovered, same session id: ${alice.sessionId === id}; the pending request got ${JSON.stringify(await pending)}`);
  assert.equal(alice.sessionId, id);
} finally {
  await alice.close();
  await server.close();
}
