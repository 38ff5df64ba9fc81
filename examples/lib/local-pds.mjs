/**
 * A small stand-in for an atproto PDS (Bluesky's servers), so that the credential-session
 * examples run offline: createSession, refreshSession (the refresh token rotates; an old
 * one is refused) and one authenticated XRPC method, with real HS256 JWTs. An expired
 * access token is answered the way a PDS does: HTTP 400 {"error":"ExpiredToken"}.
 * Not sessionkit's API: only the server side of the examples.
 */
import { createHmac, randomBytes } from "node:crypto";
import http from "node:http";

const SECRET = randomBytes(32);
export const HANDLE = "alice.test";
export const PASSWORD = "app-password-for-the-example";
const DID = "did:plc:example";

function sign(claims) {
  const enc = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const data = `${enc({ alg: "HS256", typ: "JWT" })}.${enc(claims)}`;
  return `${data}.${createHmac("sha256", SECRET).update(data).digest("base64url")}`;
}

function verify(token) {
  const [head, body, sig] = (token ?? "").split(".");
  if (!sig || createHmac("sha256", SECRET).update(`${head}.${body}`).digest("base64url") !== sig) return null;
  return JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
}

export async function startLocalPds() {
  let seq = 0;
  let expiredUpTo = 0;
  let currentRefresh = null;
  const stats = { logins: 0, refreshes: 0, calls: 0 };
  let url = "";
  const now = () => Math.floor(Date.now() / 1000);
  const issue = () => {
    currentRefresh = sign({ scope: "com.atproto.refresh", sub: DID, iat: now(), exp: now() + 86400, jti: `r${++seq}` });
    const accessJwt = sign({ scope: "com.atproto.access", sub: DID, iat: now(), exp: now() + 7200, jti: ++seq });
    const didDoc = { id: DID, service: [{ id: "#atproto_pds", type: "AtprotoPersonalDataServer", serviceEndpoint: url }] };
    return { did: DID, handle: HANDLE, accessJwt, refreshJwt: currentRefresh, active: true, didDoc };
  };
  const server = http.createServer(async (req, res) => {
    let raw = "";
    for await (const chunk of req) raw += chunk;
    const send = (status, body) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    const claims = verify(bearer);
    switch (new URL(req.url, url).pathname) {
      case "/xrpc/com.atproto.server.createSession": {
        const { identifier, password } = JSON.parse(raw || "{}");
        if (identifier !== HANDLE || password !== PASSWORD) return send(401, { error: "AuthenticationRequired" });
        stats.logins++;
        return send(200, issue());
      }
      case "/xrpc/com.atproto.server.refreshSession":
        if (claims?.scope !== "com.atproto.refresh" || bearer !== currentRefresh) return send(400, { error: "ExpiredToken" });
        stats.refreshes++;
        return send(200, issue());
      case "/xrpc/com.atproto.server.getSession":
      case "/xrpc/app.example.whoami":
        if (claims?.scope !== "com.atproto.access") return send(401, { error: "AuthenticationRequired" });
        if (claims.jti <= expiredUpTo) return send(400, { error: "ExpiredToken", message: "Token has expired" });
        stats.calls++;
        return send(200, { did: DID, handle: HANDLE });
      default:
        return send(404, { error: "MethodNotImplemented" });
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    stats,
    /** From now on every access token issued so far is answered with ExpiredToken. */
    expireAccessTokens: () => void (expiredUpTo = seq),
    close: () =>
      new Promise((resolve) => {
        server.close(resolve);
        server.closeAllConnections();
      }),
  };
}
