/**
 * A local server that speaks the astrometry.net API the way the login tests need:
 * POST /api/login with `request-json={"apikey": …}` → `{"status":"success","session":…}`,
 * and other endpoints that want `session` inside `request-json` and answer
 * `{"status":"error","errormessage":"no session with key \"…\""}` for an unknown one (as
 * the real server does, quoting the key: our errors must not repeat it).
 */
import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

export const API_KEY = "abcdefghijklmnop";

export class FakeAstrometry {
  logins = 0;
  loginAttempts = 0;
  requests = 0;
  /** Session keys the server knows. */
  sessions = new Set<string>();
  /** Every request-json the server received (for checking the session went along). */
  received: Array<Record<string, unknown>> = [];
  /** When true, logins succeed but the sessions are never accepted (a broken server). */
  rejectAllSessions = false;
  /** When true, logins are answered 429 with IETF `RateLimit-*` headers (no Retry-After). */
  loginLimited = false;
  /** When set, other endpoints answer this error message (may quote what the client sent). */
  errorMessage: string | null = null;
  #server: http.Server | null = null;
  url = "";

  async start(): Promise<this> {
    const server = http.createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    this.#server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`;
    return this;
  }

  async close(): Promise<void> {
    const s = this.#server;
    if (s === null) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }

  /** Forget every session (the server restarted or the sessions timed out). */
  invalidateSessions(): void {
    this.sessions.clear();
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const form = new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
    const send = (body: unknown) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(form.get("request-json") ?? "{}") as Record<string, unknown>;
    } catch {
      return send({ status: "error", errormessage: "request-json is not JSON" });
    }
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (path === "/api/login") {
      this.loginAttempts++;
      if (this.loginLimited) {
        res.writeHead(429, { "content-type": "application/json", "RateLimit-Limit": "10", "RateLimit-Remaining": "0", "RateLimit-Reset": "42" });
        res.end(JSON.stringify({ status: "error", errormessage: "too many logins" }));
        return;
      }
      if (json.apikey !== API_KEY) return send({ status: "error", errormessage: `bad apikey ${String(json.apikey)}` });
      this.logins++;
      const session = randomBytes(16).toString("hex");
      this.sessions.add(session);
      return send({ status: "success", message: "authenticated user: test@example.com", session });
    }
    this.requests++;
    this.received.push(json);
    const key = json.session;
    if (typeof key !== "string") return send({ status: "error", errormessage: 'no "session" in JSON.' });
    if (this.rejectAllSessions || !this.sessions.has(key)) return send({ status: "error", errormessage: `no session with key "${key}"` });
    if (this.errorMessage !== null) return send({ status: "error", errormessage: this.errorMessage });
    return send({ status: "success", path, echo: json });
  }
}
