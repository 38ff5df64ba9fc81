/**
 * One benchmark target server, run in its own process by bench/server-middleware.ts so
 * the load generator does not steal its CPU. Prints the port, serves until killed.
 *
 *   npx tsx bench/server-target.ts <bare|ours-node|ours-express|express-session|ours-fastify|fastify-session>
 *
 * Every session target does the same work per request: read one key, write it back + 1.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

// The compiled build when present (what users run; `npm run bench` builds it), else the
// sources through tsx, whose name-keeping wrappers cost a little per closure.
type ServerApi = typeof import("../src/server/index.js");
const dist = new URL("../dist/src/server/index.js", import.meta.url);
const { sessionData, sessionMiddleware } = (
  process.env.SESSIONKIT_BENCH_SRC !== "1" && existsSync(fileURLToPath(dist)) ? await import(dist.href) : await import("../src/server/index.js")
) as ServerApi;

const SECRET = "bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
const kind = process.argv[2];

/** `GET /__cpu` reports this process's CPU time, so the driver can count CPU per request. */
const cpu = () => JSON.stringify(process.cpuUsage());

function listen(server: http.Server): void {
  server.keepAliveTimeout = 60_000;
  const app = server.listeners("request")[0] as http.RequestListener;
  server.removeAllListeners("request");
  server.on("request", (req, res) => (req.url === "/__cpu" ? res.end(cpu()) : app(req, res)));
  server.listen(0, "127.0.0.1", () => console.log(`PORT ${(server.address() as AddressInfo).port}`));
}

switch (kind) {
  case "bare":
    listen(http.createServer((_req, res) => res.end("ok")));
    break;
  case "ours-node": {
    const mw = sessionMiddleware({ secret: SECRET });
    listen(
      http.createServer(
        mw.node((req, res) => {
          const s = sessionData(req);
          s.set("n", ((s.get("n") as number | undefined) ?? 0) + 1);
          res.end("ok");
        }),
      ),
    );
    break;
  }
  case "ours-express": {
    const { default: express } = await import("express");
    const mw = sessionMiddleware({ secret: SECRET });
    const app = express();
    app.use(mw.express());
    app.get("/", (req, res) => {
      const s = sessionData(req);
      s.set("n", ((s.get("n") as number | undefined) ?? 0) + 1);
      res.send("ok");
    });
    listen(http.createServer(app));
    break;
  }
  case "express-session": {
    const { default: express } = await import("express");
    const { default: session } = await import("express-session");
    const app = express();
    app.use(session({ secret: SECRET, resave: false, saveUninitialized: false }));
    app.get("/", (req, res) => {
      const s = req.session as unknown as { n?: number };
      s.n = (s.n ?? 0) + 1;
      res.send("ok");
    });
    listen(http.createServer(app));
    break;
  }
  case "ours-fastify": {
    const { default: Fastify } = await import("fastify");
    const mw = sessionMiddleware({ secret: SECRET });
    const app = Fastify();
    await app.register(mw.fastify);
    app.get("/__cpu", async () => cpu());
    app.get("/", async (request) => {
      const s = sessionData(request);
      s.set("n", ((s.get("n") as number | undefined) ?? 0) + 1);
      return "ok";
    });
    await app.listen({ port: 0, host: "127.0.0.1" });
    console.log(`PORT ${(app.server.address() as AddressInfo).port}`);
    break;
  }
  case "fastify-session": {
    const { default: Fastify } = await import("fastify");
    const { default: cookie } = await import("@fastify/cookie");
    const { default: session } = await import("@fastify/session");
    const app = Fastify();
    await app.register(cookie);
    await app.register(session, { secret: SECRET, saveUninitialized: false, cookie: { secure: false } });
    app.get("/__cpu", async () => cpu());
    app.get("/", async (request) => {
      const s = request.session as unknown as { get(k: string): unknown; set(k: string, v: unknown): void };
      s.set("n", ((s.get("n") as number | undefined) ?? 0) + 1);
      return "ok";
    });
    await app.listen({ port: 0, host: "127.0.0.1" });
    console.log(`PORT ${(app.server.address() as AddressInfo).port}`);
    break;
  }
  default:
    console.error(`unknown target ${kind}`);
    process.exit(2);
}
