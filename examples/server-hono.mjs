/**
 * Server sessions on Hono (Web-standard Request/Response). `sessionData(c)` works with
 * Hono's context; any `(Request) => Response` handler can use `sessions.fetch(handler)`.
 *
 *   node examples/server-hono.mjs
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { sessionData, sessionMiddleware } from "sessionkit/server";
import { serveFetch } from "./lib/serve-fetch.mjs";
import { visitThreeTimes } from "./lib/visit-three-times.mjs";

const sessions = sessionMiddleware({ secret: process.env.SESSION_SECRET ?? "example-only-secret-change-me-0123456789" });
const app = new Hono();
app.use(sessions.hono());
app.get("/", (c) => {
  const session = sessionData(c);
  session.set("visits", (session.get("visits") ?? 0) + 1);
  return c.text(`visit ${session.get("visits")}`);
});
app.onError((err, c) => c.text(err.code ?? "error", err.code === "STORE_UNAVAILABLE" ? 503 : 500));

const server = await serveFetch(app.fetch); // on Node, @hono/node-server's serve() in an app
try {
  const answers = await visitThreeTimes(`http://127.0.0.1:${server.address().port}/`);
  console.log(`Hono: ${answers.join(", ")}`);
  assert.deepEqual(answers, ["visit 1", "visit 2", "visit 3"]);
} finally {
  server.close();
  server.closeAllConnections();
  await sessions.close();
}
