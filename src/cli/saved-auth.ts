/**
 * `--auth` credentials, given on the command line or kept in a named session, handed to
 * the library's AuthManager:
 *
 * - Basic and Bearer are preloaded with `useAuth` for the whole origin, so they go out
 *   with the first request (as HTTPie sends them);
 * - Digest answers the server's challenge through the session's `authenticate` event, and
 *   its state (the challenge and how far its nonce was counted) is saved after each
 *   command, so the next command is authorized up front, without a 401 round trip.
 *
 * The Digest state is read back from what the library sent (the Authorization header of
 * the final request, and `nextnonce` from Authentication-Info), never recomputed here.
 */
import type { Lib } from "./lib.js";
import type { SavedAuth } from "./session-files.js";

type Session = InstanceType<Lib["Session"]>;
type Message = InstanceType<Lib["Message"]>;

/** Digest challenge parameters worth keeping (the rest of an Authorization header is per request). */
const CHALLENGE_PARAMS = ["realm", "nonce", "opaque", "algorithm", "qop", "userhash", "charset"];
/** Counting a nonce forward costs one hash per step; past this a fresh challenge is cheaper. */
const MAX_NC_REPLAY = 10_000;

export function applyAuth(lib: Lib, session: Session, auth: SavedAuth): void {
  const origin = new URL(auth.url).origin;
  const manager = session.getFeature(lib.AuthManager);
  if (manager === null) return;
  if (auth.type === "basic" || auth.type === "bearer") {
    const a = auth.type === "basic" ? new lib.AuthBasic({ url: `${origin}/` }) : new lib.AuthBearer({ url: `${origin}/` });
    a.authenticate(auth.username, auth.password);
    manager.useAuth(`${origin}/`, a);
    return;
  }
  // Digest: answer first challenges from this origin; a refused retry goes to the caller as a 401.
  session.on("authenticate", (req) => {
    if (req.isRetry || req.isProxy || req.scheme.toLowerCase() !== "digest" || req.message.url.origin !== origin) return;
    req.authenticate(auth.username, auth.password);
  });
  const saved = auth.digest;
  if (saved === undefined || typeof saved.params.nonce !== "string" || !(saved.nc >= 0) || saved.nc > MAX_NC_REPLAY) return;
  const digest = new lib.AuthDigest({ url: auth.url, challenge: { scheme: "Digest", schemeLower: "digest", params: saved.params, token68: null } });
  digest.authenticate(auth.username, auth.password);
  // The server has seen nonce counts up to `nc`; a reused count would look like a replay.
  // The scheme counts one step per Authorization it computes, so compute that many.
  const probe = new lib.Message("GET", auth.url);
  for (let i = 0; i < saved.nc; i++) digest.getAuthorization(probe);
  manager.useAuth(auth.url, digest);
}

/**
 * The Digest state to keep after `msg` was answered: the parameters of the Authorization
 * it went out with and its nonce count, moved to `nextnonce` when the server sent one.
 * Null when the request did not carry our Digest or was refused.
 */
export function digestStateAfter(lib: Lib, msg: Message): SavedAuth["digest"] | null {
  if (msg.status === 401) return null;
  const sent = msg.requestHeaders.get("Authorization");
  if (sent === null || !/^digest\s/i.test(sent)) return null;
  const p = lib.parseAuthParams(sent.replace(/^digest\s+/i, ""));
  if (p.nonce === undefined) return null;
  const params: Record<string, string> = {};
  for (const k of CHALLENGE_PARAMS) if (p[k] !== undefined) params[k] = p[k];
  let nc = p.nc === undefined ? 0 : Number.parseInt(p.nc, 16);
  if (!Number.isFinite(nc)) nc = 0;
  const info = msg.responseHeaders.get("Authentication-Info");
  if (info !== null) {
    const next = lib.parseAuthParams(info).nextnonce;
    if (next !== undefined && next !== "" && next !== params.nonce) {
      params.nonce = next;
      nc = 0;
    }
  }
  return { params, nc };
}
