/**
 * A realtime server and two clients in one process: authentication, properties, a
 * request handler, pushes by property filter, and a dropped socket that is recovered.
 *
 *   npx tsx examples/realtime-chat.ts
 */
import { quoteFilterValue, RealtimeServer, RealtimeSession } from "../src/realtime/index.js";

const users: Record<string, string> = { alice: "wonderland", bob: "builder" };

await using server = new RealtimeServer({
  pingPeriod: 1000,
  authenticator: (principal, credentials) => (users[principal] === credentials.text() ? { properties: { room: "lobby" } } : false),
});
const url = await server.listen(0);
server.on("session-opened", (s) => console.log(`server: ${s.properties.$Principal} joined as ${s.id}`));
server.on("session-closed", (s, reason) => console.log(`server: ${s.principal} left (${reason.name})`));
server.addHandler("chat/say", async (text, from) => {
  // A Diffusion session filter string; quoteFilterValue escapes whatever the room is called.
  const everyoneInTheRoom = `room is ${quoteFilterValue(from.properties.room!)} and not $Principal is 'banned'`;
  const reached = await server.sendToFilter(everyoneInTheRoom, "chat/line", `${from.principal}: ${String(text)}`);
  return { delivered: reached };
});

await using alice = await new RealtimeSession(url, { principal: "alice", credentials: "wonderland" }).connect();
await using bob = await new RealtimeSession(url, { principal: "bob", credentials: "builder" }).connect();
bob.addHandler("chat/line", (line) => console.log(`bob sees   ${String(line)}`));
alice.addHandler("chat/line", (line) => console.log(`alice sees ${String(line)}`));
alice.on("state", (state, previous) => console.log(`alice: ${previous} -> ${state}`));

console.log(await alice.request("chat/say", "hello bob"));

// The network drops under alice; what she sends meanwhile is delivered after recovery.
server.getSession(alice.sessionId!)!.socket!.terminate();
alice.send("chat/say", "did you get this?");
await new Promise((r) => alice.once("recovered", () => r(undefined)));
console.log("ping", await alice.pingServer());

const mallory = new RealtimeSession(url, { principal: "bob", credentials: "guess" });
await mallory.connect().catch((err: Error & { code?: string }) => console.log(`mallory refused: ${err.code}`));
await new Promise((r) => setTimeout(r, 100));
