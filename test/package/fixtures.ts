/**
 * The files written into the consumer project. They are strings rather than files under
 * test/ because they import "sessionkit" by its name, which only the installed package
 * resolves (the repository's own type-check would need a build first).
 */

/** Imports every entry point and uses each a little; must compile strictly without skipLibCheck. */
export const TYPECHECK_TS = `
import { Session, Message, MessageFlags, type FetchInput, type SessionFetch } from "sessionkit";
import { sessionMiddleware, sessionData, MemoryStore, type SessionStore } from "sessionkit/server";
import { RealtimeServer, RealtimeSession, CloseReason } from "sessionkit/realtime";
import { AtprotoSession, ApiKeySession, CredentialSession } from "sessionkit/login";
import { SqliteStore } from "sessionkit/stores/sqlite";
import { RedisStore } from "sessionkit/stores/redis";
import { runStoreConformance } from "sessionkit/stores/conformance";
import { SqliteCoordinator } from "sessionkit/login/coordinator/sqlite";
import { RedisCoordinator } from "sessionkit/login/coordinator/redis";

const session = new Session({ maxConnsPerHost: 4 });
const fetchFn: SessionFetch = session.fetch;
const input: FetchInput = new URL("http://127.0.0.1/");
export const response: Promise<Response> = fetchFn(input, { method: "POST", body: "x", headers: { a: "b" } });
// @ts-expect-error a number is not a fetch input: the parameter is typed, not \`any\`
void session.fetch(42);
const msg = new Message("GET", "http://127.0.0.1/");
msg.flags |= MessageFlags.NO_REDIRECT;
export const bytes: Promise<Uint8Array> = session.sendAndRead(msg);

const store: SessionStore = new MemoryStore();
export const middleware = sessionMiddleware({ secret: "a-long-enough-secret-for-the-type-check", store });
export const read = sessionData;
export const stores: SessionStore[] = [new SqliteStore({ path: ":memory:" }), new RedisStore({ url: "redis://127.0.0.1:6379" })];
export const conformance: typeof runStoreConformance = runStoreConformance;

export const realtime = [RealtimeServer, RealtimeSession, CloseReason] as const;
export const login = [AtprotoSession, ApiKeySession, CredentialSession] as const;
export const coordinators = [SqliteCoordinator, RedisCoordinator] as const;
`;

/** What both runtime checks assert: every entry point loads and exports its main names. */
const EXPECTED = `{
  "sessionkit": ["Session", "Message", "CookieJar", "AuthManager", "Cache"],
  "sessionkit/server": ["sessionMiddleware", "sessionData", "MemoryStore"],
  "sessionkit/realtime": ["RealtimeServer", "RealtimeSession", "CloseReason"],
  "sessionkit/login": ["AtprotoSession", "ApiKeySession", "CredentialSession"],
  "sessionkit/stores/sqlite": ["SqliteStore"],
  "sessionkit/stores/redis": ["RedisStore"],
  "sessionkit/stores/conformance": ["runStoreConformance"],
  "sessionkit/login/coordinator/sqlite": ["SqliteCoordinator"],
  "sessionkit/login/coordinator/redis": ["RedisCoordinator"],
}`;

/**
 * Shared body of the runtime checks: names exist, then one real request through a Session
 * against a local server, so the installed dependencies (undici) are proven to load too.
 */
const RUNTIME_BODY = (load: string) => `
const expected = ${EXPECTED};
for (const [entry, names] of Object.entries(expected)) {
  const mod = ${load};
  for (const name of names) if (mod[name] === undefined) throw new Error(entry + " does not export " + name);
}
const { Session, Message } = ${load.replace("entry", '"sessionkit"')};
const server = http.createServer((req, res) => res.end("hello from " + req.url));
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const session = new Session();
try {
  const body = await session.sendAndRead(new Message("GET", "http://127.0.0.1:" + server.address().port + "/x"));
  const text = new TextDecoder().decode(body);
  if (text !== "hello from /x") throw new Error("unexpected body " + text);
} finally {
  await session.close();
  server.close();
}
console.log("ok " + process.version);
`;

export const RUNTIME_ESM = `import http from "node:http";
${RUNTIME_BODY("await import(entry)")}`;

// A CommonJS file: require() of an ES module (Node 20.19+, 22.12+, 24). The async part
// runs in an async function, as CommonJS has no top-level await.
export const RUNTIME_CJS = `"use strict";
const http = require("node:http");
(async () => {
${RUNTIME_BODY("require(entry)")}
})().catch((err) => {
  console.error(err);
  process.exit(1);
});`;

export function tsconfig(kind: "nodenext" | "bundler"): string {
  const compilerOptions =
    kind === "nodenext" ? { module: "nodenext", moduleResolution: "nodenext" } : { module: "esnext", moduleResolution: "bundler" };
  return JSON.stringify(
    {
      compilerOptions: {
        ...compilerOptions,
        target: "ES2022",
        // A Node project: no DOM, Node's own globals from @types/node.
        lib: ["ES2023"],
        types: ["node"],
        strict: true,
        skipLibCheck: false,
        noEmit: true,
      },
      files: ["typecheck.ts"],
    },
    null,
    2,
  );
}
