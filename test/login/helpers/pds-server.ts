/**
 * A local server that behaves like an atproto PDS for the login tests: real HS256 JWTs with
 * `iat`/`exp`, refresh tokens rotated on every refresh (an old one is refused as
 * InvalidToken), "ExpiredToken" on HTTP 400 (or a 401 with a WWW-Authenticate challenge),
 * and login rate limits announced with Retry-After and ratelimit-* headers. It runs as two
 * listeners sharing one state: an entryway (logins) and the account's PDS (everything
 * else), so tests can check that the PDS endpoint from the DID document is used.
 */
import { createHmac, randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";

const SECRET = randomBytes(32);

export function signJwt(claims: Record<string, unknown>): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const head = enc({ alg: "HS256", typ: "JWT" });
  const body = enc(claims);
  const sig = createHmac("sha256", SECRET).update(`${head}.${body}`).digest("base64url");
  return `${head}.${body}.${sig}`;
}

function verifyJwt(token: string): Record<string, unknown> | null {
  const [head, body, sig] = token.split(".");
  if (!head || !body || !sig) return null;
  const good = createHmac("sha256", SECRET).update(`${head}.${body}`).digest("base64url");
  if (good !== sig) return null;
  return JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as Record<string, unknown>;
}

export interface PdsOptions {
  /** Access token lifetime in seconds. @default 7200 */
  accessTtl?: number;
  /** Refresh token lifetime in seconds. @default 86400 */
  refreshTtl?: number;
  /** Logins allowed before 429 (per server life). @default Infinity */
  loginLimit?: number;
  /** What the 429 carries. @default "retry-after" */
  rateLimitStyle?: "retry-after" | "ratelimit-epoch" | "none";
  /** How an expired access token is reported. @default "400-body" */
  expiredStyle?: "400-body" | "401-body" | "401-header";
  /** Seconds added to the server clock when minting (a server whose clock is off). @default 0 */
  clockOffset?: number;
  /** Milliseconds the refresh answer is delayed (widens the race window). @default 0 */
  refreshDelay?: number;
  /** Answer refreshSession with 429 + Retry-After: 10. @default false */
  refreshLimited?: boolean;
}

export const PASSWORD = "correct horse battery staple";
export const HANDLE = "alice.test";
export const DID = "did:plc:alice123";

export class FakePds {
  readonly options: Required<PdsOptions>;
  logins = 0;
  loginAttempts = 0;
  refreshes = 0;
  refreshAttempts = 0;
  deletes = 0;
  /** Requests to the PDS's non-session XRPC endpoints, and how many were authorized. */
  requests = 0;
  authorized = 0;
  /** Authorized requests per listener. */
  hits = { entryway: 0, pds: 0 };
  /** Access tokens with a sequence number up to this count as expired (see expireAccessTokens). */
  #expiredUpTo = 0;
  /** The refresh token that is valid now (rotation: exactly one). */
  currentRefresh: string | null = null;
  refreshRevoked = false;
  /** Every refresh token ever presented to refreshSession. */
  presentedRefresh: string[] = [];
  #seq = 0;
  /** WebSocket upgrade requests seen. */
  upgrades = 0;
  readonly #wss = new WebSocketServer({ noServer: true });
  #servers: http.Server[] = [];
  entryway = "";
  pds = "";

  constructor(options: PdsOptions = {}) {
    this.options = {
      accessTtl: 7200,
      refreshTtl: 86400,
      loginLimit: Number.POSITIVE_INFINITY,
      rateLimitStyle: "retry-after",
      expiredStyle: "400-body",
      clockOffset: 0,
      refreshDelay: 0,
      refreshLimited: false,
      ...options,
    };
  }

  now(): number {
    return Math.floor(Date.now() / 1000) + this.options.clockOffset;
  }

  /** Every access token issued so far is answered with ExpiredToken from now on. */
  expireAccessTokens(): void {
    this.#expiredUpTo = this.#seq;
  }

  mintAccess(opts: { expired?: boolean } = {}): string {
    const iat = this.now();
    const exp = opts.expired ? iat - 60 : iat + this.options.accessTtl;
    return signJwt({ scope: "com.atproto.access", sub: DID, iat: opts.expired ? iat - 120 : iat, exp, jti: ++this.#seq });
  }

  mintRefresh(): string {
    const iat = this.now();
    const token = signJwt({ scope: "com.atproto.refresh", sub: DID, iat, exp: iat + this.options.refreshTtl, jti: `r${++this.#seq}` });
    this.currentRefresh = token;
    return token;
  }

  /** A session as the PDS would hand it out, for building session strings in tests. */
  issue(opts: { expiredAccess?: boolean } = {}): { accessJwt: string; refreshJwt: string } {
    return { accessJwt: this.mintAccess({ expired: opts.expiredAccess }), refreshJwt: this.mintRefresh() };
  }

  #sessionBody() {
    const { accessJwt, refreshJwt } = this.issue();
    return {
      did: DID,
      handle: HANDLE,
      accessJwt,
      refreshJwt,
      active: true,
      didDoc: {
        id: DID,
        service: [{ id: "#atproto_pds", type: "AtprotoPersonalDataServer", serviceEndpoint: this.pds }],
      },
    };
  }

  async start(): Promise<this> {
    for (let i = 0; i < 2; i++) {
      const which = i === 0 ? "entryway" : "pds";
      const server = http.createServer((req, res) => void this.#handle(req, res, which));
      server.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => this.#upgrade(req, socket, head));
      server.keepAliveTimeout = 5000;
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      this.#servers.push(server);
    }
    this.entryway = `http://127.0.0.1:${(this.#servers[0].address() as AddressInfo).port}`;
    this.pds = `http://127.0.0.1:${(this.#servers[1].address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    for (const c of this.#wss.clients) c.terminate();
    for (const s of this.#servers) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
  }

  /** Upgrades carrying a valid access token open an echo WebSocket; an expired one gets atproto's 400 ExpiredToken. */
  #upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    this.upgrades++;
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1] ?? null;
    const claims = bearer === null ? null : verifyJwt(bearer);
    const refuse = (status: string, body: unknown) => {
      const text = JSON.stringify(body);
      socket.end(
        `HTTP/1.1 ${status}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
      );
    };
    if (claims === null || claims.scope !== "com.atproto.access") return refuse("401 Unauthorized", { error: "AuthenticationRequired" });
    if ((claims.exp as number) < this.now() || (claims.jti as number) <= this.#expiredUpTo) {
      return refuse("400 Bad Request", { error: "ExpiredToken", message: "Token has expired" });
    }
    this.authorized++;
    this.#wss.handleUpgrade(req, socket, head, (ws) => ws.on("message", (m) => ws.send(`echo:${m.toString()}`)));
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse, which: "entryway" | "pds"): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const url = new URL(req.url ?? "/", "http://x");
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
      res.end(JSON.stringify(body));
    };
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1] ?? null;
    switch (url.pathname) {
      case "/xrpc/com.atproto.server.createSession": {
        this.loginAttempts++;
        if (this.logins >= this.options.loginLimit) {
          const h: Record<string, string> = {};
          if (this.options.rateLimitStyle === "retry-after")
            Object.assign(h, { "retry-after": "30", "ratelimit-limit": String(this.options.loginLimit), "ratelimit-remaining": "0" });
          if (this.options.rateLimitStyle === "ratelimit-epoch")
            Object.assign(h, {
              "ratelimit-limit": "30",
              "ratelimit-remaining": "0",
              "ratelimit-reset": String(Math.floor(Date.now() / 1000) + 300),
              "ratelimit-policy": "30;w=300",
            });
          return send(429, { error: "RateLimitExceeded", message: "Rate Limit Exceeded" }, h);
        }
        const body = JSON.parse(raw || "{}") as { identifier?: string; password?: string };
        if ((body.identifier !== HANDLE && body.identifier !== DID) || body.password !== PASSWORD) {
          // Echo the password back, as a careless server might: it must not reach our errors.
          return send(401, { error: "AuthenticationRequired", message: `Invalid identifier or password ${body.password}` });
        }
        this.logins++;
        return send(200, this.#sessionBody());
      }
      case "/xrpc/com.atproto.server.refreshSession": {
        this.refreshAttempts++;
        if (bearer !== null) this.presentedRefresh.push(bearer);
        if (this.options.refreshDelay > 0) await new Promise((r) => setTimeout(r, this.options.refreshDelay));
        if (this.options.refreshLimited) return send(429, { error: "RateLimitExceeded", message: "Rate Limit Exceeded" }, { "retry-after": "10" });
        const claims = bearer === null ? null : verifyJwt(bearer);
        if (claims === null || claims.scope !== "com.atproto.refresh") return send(400, { error: "InvalidToken", message: "Invalid token" });
        if (bearer !== this.currentRefresh || this.refreshRevoked) return send(400, { error: "ExpiredToken", message: "Token has been revoked" });
        if ((claims.exp as number) < this.now()) return send(400, { error: "ExpiredToken", message: "Token has expired" });
        this.refreshes++;
        return send(200, this.#sessionBody());
      }
      case "/xrpc/com.atproto.server.deleteSession": {
        if (bearer === null || bearer !== this.currentRefresh) return send(400, { error: "InvalidToken", message: "Invalid token" });
        this.deletes++;
        this.currentRefresh = null;
        return send(200, {});
      }
      default: {
        this.requests++;
        const claims = bearer === null ? null : verifyJwt(bearer);
        if (claims === null || claims.scope !== "com.atproto.access") {
          return send(401, { error: "AuthenticationRequired", message: "Authentication Required" });
        }
        const expired = (claims.exp as number) < this.now() || (claims.jti as number) <= this.#expiredUpTo;
        if (expired) {
          const style = this.options.expiredStyle;
          if (style === "401-header")
            return send(401, { error: "ExpiredToken", message: "Token has expired" }, { "www-authenticate": 'Bearer error="ExpiredToken"' });
          return send(style === "401-body" ? 401 : 400, { error: "ExpiredToken", message: "Token has expired" });
        }
        this.authorized++;
        this.hits[which]++;
        return send(200, { ok: true, path: url.pathname, did: claims.sub, body: raw || null });
      }
    }
  }
}
