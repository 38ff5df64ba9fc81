/**
 * Server sessions on Express with Redis: `REDIS_URL=redis://127.0.0.1:6379 npx tsx examples/server-express.ts`.
 * A store outage becomes a 503 through the error handler (the error carries statusCode 503).
 */
import express from "express";
import { sessionData, sessionMiddleware, type StoreUnavailableError } from "sessionkit/server";
import { RedisStore } from "sessionkit/stores/redis";

const store = new RedisStore({ url: process.env.REDIS_URL ?? "redis://127.0.0.1:6379", prefix: "example:" });
const sessions = sessionMiddleware({ secret: process.env.SESSION_SECRET ?? "dev-only-secret-change-me-0123456789abcdef", store });

const app = express();
app.use(sessions.express());
app.get("/", (req, res) => {
  const session = sessionData(req);
  session.set("visits", ((session.get("visits") as number | undefined) ?? 0) + 1);
  res.json(session.toJSON());
});
app.use((err: StoreUnavailableError, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
  res.status(err.statusCode ?? 500).json({ error: err.code });
});
app.listen(3000, "127.0.0.1", () => console.log("listening on http://127.0.0.1:3000/"));
