/**
 * Server sessions on Fastify: the middleware registers as a plugin (its hooks apply to the
 * whole app) and `sessionData(request)` gives the visitor's session.
 *
 *   node examples/server-fastify.mjs
 */
import assert from "node:assert/strict";
import Fastify from "fastify";
import { sessionData, sessionMiddleware } from "sessionkit/server";
import { visitThreeTimes } from "./lib/visit-three-times.mjs";

const sessions = sessionMiddleware({ secret: process.env.SESSION_SECRET ?? "example-only-secret-change-me-0123456789" });
const app = Fastify();
await app.register(sessions.fastify);
app.get("/", async (request) => {
  const session = sessionData(request);
  session.set("visits", (session.get("visits") ?? 0) + 1);
  return `visit ${session.get("visits")}`;
});

const address = await app.listen({ port: 0, host: "127.0.0.1" });
try {
  const answers = await visitThreeTimes(`${address}/`);
  console.log(`Fastify: ${answers.join(", ")}`);
  assert.deepEqual(answers, ["visit 1", "visit 2", "visit 3"]);
} finally {
  await app.close();
  await sessions.close();
}
