/**
 * AuthManager (libsoup's SoupAuthManager): answers 401 and 407 responses. On a challenge
 * it picks the strongest scheme it supports, takes credentials from the URL, the cache or
 * the session's `authenticate` event (answerable asynchronously), and restarts the
 * message with them. Accepted credentials are cached per origin and protection space, so
 * later requests there are authorized up front (Basic, Bearer and Digest with a counted
 * nonce) without a 401 round trip.
 *
 * Loops are impossible by construction: a Digest `stale=true` is retried at most
 * MAX_STALE times per message, credentials that were just rejected are never sent again,
 * a message gets at most MAX_ROUNDS answers from the application and MAX_AUTH_RESTARTS
 * restarts in all; after that the 401/407 goes to the caller.
 */
import type { AuthenticateRequest } from "../../http/authenticate.js";
import { FeatureOrder, type SessionFeature, type SessionFeatureClass } from "../../http/feature.js";
import { MessageFlags, type Message } from "../../http/message.js";
import { MAX_RESTARTS } from "../../http/redirect.js";
import type { Session } from "../../http/session.js";
import { Auth, isAuthClass, type AuthClass } from "./auth.js";
import { AuthBasic } from "./basic.js";
import { AuthBearer } from "./bearer.js";
import { AuthCache } from "./cache.js";
import { parseAuthParams, parseChallengeHeaders, type AuthChallenge } from "./challenge-parser.js";
import { AuthDigest } from "./digest.js";
import { AuthError } from "./errors.js";
import { MessageSlot } from "./message-slot.js";

const MAX_STALE = 3;
const MAX_ROUNDS = 8;
/** Below the session's MAX_RESTARTS (20), leaving room for redirects. */
const MAX_AUTH_RESTARTS = 14;
const MAX_PROXIES = 64;

/** Per-message state, for one side (server or proxy). */
interface Side {
  /** The Auth chosen for this message by a challenge (used on its restarts). */
  auth: Auth | null;
  /** The Auth whose header went out with the request just sent. */
  attempt: Auth | null;
  /** The header value this feature set, so it can tell the caller's own header apart. */
  sent: string | null;
  /** For the proxy side: the proxy the challenge came from. */
  proxy: string | null;
  rounds: number;
  stale: number;
  /** The proxy URL's own userinfo was tried. */
  proxyUrlUsed: boolean;
}

interface MsgState {
  server: Side;
  proxy: Side;
  urlCreds: { origin: string; username: string; password: string } | null;
  /** Restarts this feature asked for (both sides). */
  restarts: number;
}

const newSide = (): Side => ({ auth: null, attempt: null, sent: null, proxy: null, rounds: 0, stale: 0, proxyUrlUsed: false });

export class AuthManager implements SessionFeature {
  readonly order = FeatureOrder.AUTH;
  #schemes = new Map<string, AuthClass>();
  #cache = new AuthCache();
  #proxies = new Map<string, Auth>();
  #state = new MessageSlot<MsgState>("sessionkit auth state");
  /** Questions a listener deferred; cancelled when the session closes. */
  #pending = new Set<() => void>();
  /** Open questions by origin/proxy, scheme and realm. */
  #inflight = new Map<string, Promise<{ username: string; password: string } | null>>();

  constructor() {
    for (const t of [AuthBasic, AuthDigest, AuthBearer]) this.#schemes.set(t.schemeName.toLowerCase(), t);
  }

  // ── sub-features (auth schemes) ───────────────────────────────────────────────────────

  /** Adds an auth scheme class (a subclass of Auth). False for any other class. */
  addSubFeature(type: SessionFeatureClass): boolean {
    if (!isAuthClass(type)) return false;
    this.#schemes.set(type.schemeName.toLowerCase(), type);
    return true;
  }

  removeSubFeature(type: SessionFeatureClass): boolean {
    if (!isAuthClass(type)) return false;
    const key = type.schemeName.toLowerCase();
    if (this.#schemes.get(key) !== type) return false;
    this.#schemes.delete(key);
    return true;
  }

  hasSubFeature(type: SessionFeatureClass): boolean {
    return isAuthClass(type) && this.#schemes.get(type.schemeName.toLowerCase()) === type;
  }

  /** The scheme classes in use, strongest first. */
  get schemes(): AuthClass[] {
    return [...this.#schemes.values()].sort((a, b) => b.strength - a.strength);
  }

  // ── credentials API ───────────────────────────────────────────────────────────────────

  /**
   * Preloads credentials for `uri` (libsoup's use_auth): requests in its protection space
   * carry them without waiting for a 401 (Basic, Bearer), and a challenge from the same
   * origin for that scheme is answered with them without asking.
   */
  useAuth(uri: string | URL, auth: Auth): void {
    if (!(auth instanceof Auth)) throw new AuthError("AUTH_INVALID_SCHEME", "useAuth() needs an Auth object (e.g. new AuthBasic({ url }))");
    const url = new URL(typeof uri === "string" ? uri : uri.href);
    if (url.origin !== auth.origin) throw new AuthError("AUTH_INVALID_SCHEME", "useAuth(): the Auth was made for another origin");
    this.#cache.add(auth);
  }

  /** Preloads proxy credentials for the proxy at `proxyUri`. */
  useProxyAuth(proxyUri: string | URL, auth: Auth): void {
    if (!(auth instanceof Auth)) throw new AuthError("AUTH_INVALID_SCHEME", "useProxyAuth() needs an Auth object");
    this.#rememberProxy(new URL(typeof proxyUri === "string" ? proxyUri : proxyUri.href).origin, auth);
  }

  /** Forgets every cached credential (server and proxy). */
  clearCachedCredentials(): void {
    this.#cache.clear();
    this.#proxies.clear();
  }

  // ── feature hooks ─────────────────────────────────────────────────────────────────────

  detach(): void {
    for (const cancel of [...this.#pending]) cancel();
    this.#pending.clear();
  }

  beforeSend(msg: Message, session: Session): void | Promise<void> {
    const skipCache = msg.hasFlag(MessageFlags.DO_NOT_USE_AUTH_CACHE);
    let st = this.#state.get(msg);
    // The cache lookup for msg.url, when the check below already made it (undefined: not yet).
    let cached: Auth | null | undefined;
    if (st === undefined) {
      // The common case: a message this feature has not touched, no credentials in its URL,
      // none cached for it and no proxy credentials at all. Nothing to add or take back,
      // so no per-message state is made.
      const url = msg.url;
      if (url.username === "" && url.password === "" && this.#proxies.size === 0) {
        if (skipCache || (cached = this.#cache.lookup(url)) === null) return;
      }
      st = this.#stateOf(msg);
    }
    this.#takeUrlCredentials(msg, st);
    const s = st.server;
    if (s.auth !== null && s.auth.origin !== msg.url.origin) s.auth = null; // never across origins
    // Credentials in the URL win over the cache: they are tried on the first challenge.
    const urlFirst = st.urlCreds !== null && st.urlCreds.origin === msg.url.origin;
    // (msg.url is unchanged since that lookup: only a URL with credentials in it is rewritten.)
    let auth = s.auth ?? (skipCache || urlFirst ? null : (cached ?? this.#cache.lookup(msg.url)));
    if (auth !== null && msg.isFeatureDisabled(auth)) auth = null;
    this.#apply(msg, "Authorization", s, auth);
    const p = st.proxy;
    // The common case (no proxy credentials anywhere) stays synchronous.
    if (p.auth === null && (this.#proxies.size === 0 || skipCache)) return this.#apply(msg, "Proxy-Authorization", p, null);
    // Only send proxy credentials to the proxy they belong to: after a redirect the message
    // may go direct or through another proxy, and an origin server must never see them.
    return resolveProxy(session, msg).then((proxy) => {
      const origin = proxy?.origin ?? null;
      let auth: Auth | null = null;
      if (origin !== null && p.auth !== null && p.proxy === origin) auth = p.auth;
      else if (origin !== null && !skipCache) auth = this.#proxies.get(origin) ?? null;
      this.#apply(msg, "Proxy-Authorization", p, auth);
    });
  }

  gotHeaders(msg: Message, session: Session): void | "restart" | Promise<void | "restart"> {
    const st = this.#state.get(msg);
    if (msg.status === 407 && msg.responseHeaders.has("Proxy-Authenticate")) return this.#challenged(msg, session, st ?? this.#stateOf(msg), true);
    if (msg.status === 401 && msg.responseHeaders.has("WWW-Authenticate")) return this.#challenged(msg, session, st ?? this.#stateOf(msg), false);
    if (st === undefined) return;
    const cache = !msg.hasFlag(MessageFlags.DO_NOT_USE_AUTH_CACHE);
    const p = st.proxy;
    if (p.attempt !== null && msg.status !== 407) {
      this.#check(msg, p.attempt, "Proxy-Authentication-Info");
      if (cache && p.proxy !== null) this.#rememberProxy(p.proxy, p.attempt);
    }
    const s = st.server;
    if (s.attempt !== null && msg.status !== 401) {
      this.#check(msg, s.attempt, "Authentication-Info");
      if (cache && s.auth === s.attempt) this.#cache.add(s.attempt);
    }
  }

  // ── internals ─────────────────────────────────────────────────────────────────────────

  #stateOf(msg: Message): MsgState {
    let st = this.#state.get(msg);
    if (st === undefined) {
      st = { server: newSide(), proxy: newSide(), urlCreds: null, restarts: 0 };
      this.#state.set(msg, st);
    }
    return st;
  }

  /** `http://user:pass@host/`: keep the credentials for the first challenge and take them out of the URL. */
  #takeUrlCredentials(msg: Message, st: MsgState): void {
    const url = msg.url;
    if (url.username === "" && url.password === "") return;
    st.urlCreds = { origin: url.origin, username: safeDecode(url.username), password: safeDecode(url.password) };
    const clean = new URL(url.href);
    clean.username = "";
    clean.password = "";
    msg.url = clean;
  }

  /** Sets (or takes back) this feature's header, leaving a header the caller set alone. */
  #apply(msg: Message, header: string, side: Side, auth: Auth | null): void {
    const current = msg.requestHeaders.get(header);
    const ours = current !== null && current === side.sent;
    side.attempt = null;
    const value = auth?.getAuthorization(msg) ?? null;
    if (value !== null && (current === null || ours)) {
      msg.requestHeaders.set(header, value);
      side.sent = value;
      side.attempt = auth;
    } else if (ours) {
      msg.requestHeaders.delete(header);
      side.sent = null;
    }
  }

  #check(msg: Message, auth: Auth, header: string): void {
    const raw = msg.responseHeaders.get(header);
    auth.checkResponse(msg, raw === null ? null : parseAuthParams(raw));
  }

  #rememberProxy(origin: string, auth: Auth): void {
    this.#proxies.delete(origin);
    if (this.#proxies.size >= MAX_PROXIES) this.#proxies.delete(this.#proxies.keys().next().value!);
    this.#proxies.set(origin, auth);
  }

  async #challenged(msg: Message, session: Session, st: MsgState, isProxy: boolean): Promise<void | "restart"> {
    const side = isProxy ? st.proxy : st.server;
    // Every auth restart counts, on both sides: the caller gets the final 401/407, never
    // the session's TOO_MANY_REDIRECTS, however the server and the listener behave.
    if (st.restarts >= MAX_AUTH_RESTARTS || msg.restartCount >= MAX_RESTARTS - 1) return;
    const challenges = parseChallengeHeaders(msg.responseHeaders.getAll(isProxy ? "Proxy-Authenticate" : "WWW-Authenticate"));
    const prev = side.attempt;
    side.attempt = null;
    let isRetry = false;
    if (prev !== null) {
      // Digest stale=true: same credentials, fresh nonce, no question asked.
      const same = challenges.find((c) => c.schemeLower === prev.schemeName.toLowerCase() && (c.params.realm ?? "") === prev.realm);
      if (same !== undefined && side.stale < MAX_STALE && prev.update(same)) {
        side.stale++;
        st.restarts++;
        return "restart";
      }
      // Refused. Only an answer to this message's own challenge makes it a retry: cached
      // credentials sent up front may just be out of scope (another realm or algorithm on
      // this path), which is a first challenge, and they are kept unless this realm refused them.
      isRetry = prev === side.auth;
      if (isRetry || same !== undefined) {
        this.#cache.remove(prev);
        for (const [k, v] of this.#proxies) if (v === prev) this.#proxies.delete(k);
      }
    }
    const picked = this.#pick(challenges, msg, isProxy);
    if (picked === null) return;
    const { auth, challenge } = picked;
    let fromUrl = isProxy ? null : st.urlCreds;
    if (isProxy) {
      const proxy = await resolveProxy(session, msg);
      side.proxy = proxy?.origin ?? null;
      // `http://user:pass@proxy:3128` from the resolver (HTTP_PROXY): tried first, once.
      if (proxy?.creds && side.rounds === 0 && !side.proxyUrlUsed) fromUrl = { origin: proxy.origin, ...proxy.creds };
    }
    const origin = isProxy ? side.proxy : msg.url.origin;

    if (!isRetry) {
      if (fromUrl !== null && fromUrl.origin === origin) {
        if (isProxy) side.proxyUrlUsed = true;
        else st.urlCreds = null; // used once, first
        try {
          auth.authenticate(fromUrl.username, fromUrl.password);
        } catch {
          // e.g. a %0A in the URL: not usable as credentials, so ask instead
        }
      } else if (!msg.hasFlag(MessageFlags.DO_NOT_USE_AUTH_CACHE) && origin !== null) {
        const cached = isProxy ? (this.#proxies.get(origin) ?? null) : this.#cache.lookupRealm(origin, auth.schemeName, auth.realm);
        if (cached !== null && cached.schemeName === auth.schemeName) Auth.copyCredentials(cached, auth);
      }
    }
    if (!auth.isAuthenticated) {
      if (side.rounds >= MAX_ROUNDS) return;
      // Messages challenged for the same realm while a deferred question is open wait for
      // its answer instead of asking again (one prompt for any number of requests).
      const key = `${isProxy ? "proxy" : "origin"} ${origin} ${auth.schemeName.toLowerCase()} ${auth.realm}`;
      let asking = isRetry ? undefined : this.#inflight.get(key);
      if (asking === undefined) {
        asking = this.#ask(session, msg, auth, challenge, isRetry, isProxy);
        if (!isRetry) {
          this.#inflight.set(key, asking);
          void asking.finally(() => this.#inflight.get(key) === asking && this.#inflight.delete(key));
        }
      }
      const answer = await asking;
      if (answer === null) return;
      // The same credentials that were just refused would be refused again: stop here.
      if (isRetry && prev!.schemeName === auth.schemeName && prev!.hasCredentials(answer.username, answer.password)) return;
      auth.authenticate(answer.username, answer.password);
      side.rounds++;
    }
    side.auth = auth;
    st.restarts++;
    // Cached right away (as libsoup does), so requests already on their way to the same
    // space use these credentials instead of asking again; a refusal removes them.
    if (!msg.hasFlag(MessageFlags.DO_NOT_USE_AUTH_CACHE)) {
      if (!isProxy) this.#cache.add(auth);
      else if (side.proxy !== null) this.#rememberProxy(side.proxy, auth);
    }
    // A header the caller set was refused; ours replaces it on the restart.
    msg.requestHeaders.delete(isProxy ? "Proxy-Authorization" : "Authorization");
    side.sent = null;
    return "restart";
  }

  /** An Auth for the strongest challenge we have a scheme for and can answer for this message. */
  #pick(challenges: AuthChallenge[], msg: Message, isProxy: boolean): { auth: Auth; challenge: AuthChallenge } | null {
    let best: { auth: Auth; challenge: AuthChallenge; strength: number } | null = null;
    for (const challenge of challenges) {
      const type = this.#schemes.get(challenge.schemeLower);
      if (type === undefined) continue;
      try {
        const strength = type.challengeStrength(challenge);
        if (!(strength >= 0) || (best !== null && strength <= best.strength)) continue;
        const auth = new type({ url: msg.url, challenge, isProxy });
        // msg.disableFeature(AuthDigest) turns one scheme off for this message (libsoup's
        // soup_message_disable_feature with an auth type): the next strongest one is used.
        if (msg.isFeatureDisabled(auth)) continue;
        if (auth.canAnswer(msg)) best = { auth, challenge, strength };
      } catch {
        // A third-party scheme that chokes on odd input is skipped, not fatal.
      }
    }
    return best;
  }

  /** Emits `authenticate` and waits for the answer when a listener deferred it. */
  #ask(
    session: Session,
    msg: Message,
    auth: Auth,
    challenge: AuthChallenge,
    isRetry: boolean,
    isProxy: boolean,
  ): Promise<{ username: string; password: string } | null> {
    if (session.listenerCount("authenticate") === 0) return Promise.resolve(null);
    let settled = false;
    let deferred = false;
    let answer: { username: string; password: string } | null = null;
    let wake: (() => void) | null = null;
    const settle = (value: { username: string; password: string } | null) => {
      if (settled) return;
      settled = true;
      answer = value;
      wake?.();
    };
    const request: AuthenticateRequest = {
      message: msg,
      scheme: challenge.scheme,
      realm: auth.realm,
      isRetry,
      isProxy,
      params: Object.freeze({ ...challenge.params }),
      authenticate(username: string, password: string) {
        // Validate now so a bad value throws at the caller, not later in the session; the
        // message does not wait for an answer that will never come.
        try {
          new (auth.constructor as AuthClass)({ url: auth.url }).authenticate(username, password);
        } catch (err) {
          settle(null);
          throw err;
        }
        settle({ username, password });
      },
      cancel() {
        settle(null);
      },
      defer() {
        deferred = true;
      },
    };
    session.emit("authenticate", request);
    if (settled || !deferred) {
      settled = true;
      return Promise.resolve(answer);
    }
    return new Promise((resolve) => {
      const cancel = () => settle(null);
      this.#pending.add(cancel);
      wake = () => {
        this.#pending.delete(cancel);
        resolve(answer);
      };
    });
  }

  toString(): string {
    return `AuthManager { schemes: [${this.schemes.map((s) => s.schemeName).join(", ")}], cachedOrigins: ${this.#cache.size}, cachedProxies: ${this.#proxies.size} }`;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * The proxy the session uses for the message's current attempt (its origin and any
 * userinfo), or null (direct). It is the transport's own answer (session.proxyFor), so the
 * credentials go to exactly the proxy the request goes through; an invalid answer fails the
 * request in the transport with PROXY_FAILED, and here it simply means no proxy credentials.
 */
async function resolveProxy(
  session: Session,
  msg: Message,
): Promise<{ origin: string; creds: { username: string; password: string } | null } | null> {
  let proxy: URL | null;
  try {
    proxy = await session.proxyFor(msg);
  } catch {
    return null;
  }
  if (proxy === null) return null;
  const creds =
    proxy.username !== "" || proxy.password !== "" ? { username: safeDecode(proxy.username), password: safeDecode(proxy.password) } : null;
  return { origin: proxy.origin, creds };
}
