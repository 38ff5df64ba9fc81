/**
 * Server sessions on Express: a signed cookie names the visitor, the MemoryStore keeps a
 * visit counter. Use `SqliteStore` (sessionkit/stores/sqlite) or `RedisStore`
 * (sessionkit/stores/redis) to keep sessions across restarts or processes.
 *
 *   node examples/server-express.mjs
 */
import assert from "node:assert/strict";
import express from "express";
import { sessionData, sessionMiddleware } from "sessionkit/server";
import { visitThreeTimes } from "./lib/visit-three-times.mjs";

const sessions = sessionMiddleware({ secret: process.env.SESSION_SECRET ?? "example-only-secret-change-me-0123456789" });
const app = express();
app.use(sessions.express());
app.get("/", (req, res) => {
  const session = sessionData(req);
  session.set("visits", (session.get("visits") ?? 0) + 1);
  res.send(`visit ${session.get("visits")}`);
});
// A store outage reaches the error handler with statusCode 503.
app.use((err, req, res, next) => res.status(err.statusCode ?? 500).send(err.code));

const server = app.listen(0, "127.0.0.1");
await new Promise((resolve) => server.once("listening", resolve));
try {
  const answers = await visitThreeTimes(`http://127.0.0.1:${server.address().port}/`);
  console.log(`Express: ${answers.join(", ")}`);
  assert.deepEqual(answers, ["visit 1", "visit 2", "visit 3"]);
} finally {
  server.close();
  server.closeAllConnections();
  await sessions.close();
}
