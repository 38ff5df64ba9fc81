/**
 * Server sessions on plain node:http: `npx tsx examples/server-node.ts`, then open
 * http://127.0.0.1:3000/ (visit count), /login?user=alice, /logout.
 * Set SESSION_DB=./sessions.db to keep sessions in SQLite across restarts.
 */
import http from "node:http";
import { sessionData, sessionMiddleware, type SessionStore } from "sessionkit/server";

const store: SessionStore | undefined = process.env.SESSION_DB
  ? new (await import("sessionkit/stores/sqlite")).SqliteStore({ path: process.env.SESSION_DB })
  : undefined; // the default: a bounded MemoryStore

const sessions = sessionMiddleware({
  secret: process.env.SESSION_SECRET ?? "dev-only-secret-change-me-0123456789abcdef",
  store,
});

const server = http.createServer(
  sessions.node(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const session = sessionData(req);
    res.setHeader("content-type", "text/plain; charset=utf-8");
    switch (url.pathname) {
      case "/login":
        await session.regenerate(); // new id on privilege change: no session fixation
        session.set("user", url.searchParams.get("user") ?? "anonymous");
        res.end("logged in\n");
        return;
      case "/logout":
        await session.destroy();
        res.end("logged out\n");
        return;
      default: {
        const visits = ((session.get("visits") as number | undefined) ?? 0) + 1;
        session.set("visits", visits);
        res.end(`user=${String(session.get("user") ?? "-")} visits=${visits}\n`);
      }
    }
  }),
);
server.listen(3000, "127.0.0.1", () => console.log("listening on http://127.0.0.1:3000/"));
process.once("SIGINT", async () => {
  server.close();
  await sessions.close();
  await store?.close();
});
