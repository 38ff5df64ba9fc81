/**
 * CredentialSession: the generic core of sessionkit/login. It installs a CredentialFeature
 * on an HTTP Session, so every request through that session (and through `fetch`) carries
 * the current credentials, and it owns everything that is the same for every service:
 *
 * - when to refresh: proactively before the access token's `exp` (with a margin, and with
 *   the server's clock offset learnt from `iat`), and reactively when the server says the
 *   token expired (one retry per message, never for a body that cannot be sent again);
 * - single flight: any number of requests that need a refresh share one refresh call, and a
 *   refresh token is used at most once (the state is swapped before anyone can reuse it);
 * - rate-limit gates for login and refresh (see rate-limit.ts);
 * - session change events, awaited before the triggering call returns;
 * - session strings (export / import);
 * - with `coordination`, all of the above shared with other processes: one refresh per
 *   expiry for the whole fleet, siblings adopt its tokens (SYNC), shared rate-limit gates
 *   (coordinators/shared-renewal.ts).
 *
 * "Token expired" answers, in the headers or only in a small body, are caught by the
 * feature on the session's runner hooks (credential-feature.ts), so `cred.http.send()`,
 * `cred.http.fetch()`, `cred.http.websocketConnect()` and this object's shortcuts to them
 * all behave the same: there is no second send path.
 */
import type { Writable } from "node:stream";
import { InvalidArgumentError, SessionClosedError } from "../errors.js";
import type { ResponseBody } from "../http/body.js";
import type { Message } from "../http/message.js";
import { Session, type SendOptions, type SessionOptions, type SpliceOptions } from "../http/session.js";
import type { WebsocketConnectOptions } from "../http/websocket.js";
import type { WebsocketConnection } from "../http/websocket-connection.js";
import { CredentialFeature, type MessageTag } from "./credential-feature.js";
import { InvalidSessionStringError, LoginFailedError, NotLoggedInError, SessionExpiredError } from "./errors.js";
import { exchange } from "./exchange.js";
import type { CredentialProfile, Exchange, ExchangeKind, ProfileContext } from "./profile.js";
import { LoginGate } from "./rate-limit.js";
import type { CoordinationOptions } from "./coordinator.js";
import { SharedLoginGate } from "./coordinators/shared-gate.js";
import { profileCodec, SharedRenewal } from "./coordinators/shared-renewal.js";
import { notifyListeners, SessionChange, type SessionChangeListener, type SessionEventName } from "./session-events.js";
import { decodeSessionString, encodeSessionString, isSessionkitString, MAX_SESSION_STRING_LENGTH } from "./session-string.js";
import { SingleFlight } from "./single-flight.js";
import type { SessionFetch } from "../http/fetch-types.js";
import { refreshSchedule } from "./token-clock.js";

export interface CredentialSessionOptions {
  /** The HTTP session to install on. @default a new Session, closed by close() */
  session?: Session;
  /** Options for the Session created when `session` is not given. */
  sessionOptions?: SessionOptions;
  /** Refresh this long before the access token expires (at most half its lifetime). @default 60_000 */
  refreshMarginMs?: number;
  /**
   * Clock differences up to this are ignored; a larger offset between our clock and the
   * server's (learnt from the token's `iat`) is corrected for. A refresh token is considered
   * dead only this long after its `exp`. @default 30_000
   */
  clockSkewMs?: number;
  /** How long to wait after a 429 that names no time. @default 60_000 */
  rateLimitWaitMs?: number;
  /** Largest response body inspected for "token expired". @default 65_536 */
  maxInspectBytes?: number;
  /**
   * Shares the saved session with other processes through a coordinator (SQLite, Redis):
   * one refresh per expiry for all of them. @default none: this process alone
   */
  coordination?: CoordinationOptions;
}

/** Login with the profile's credentials, or import a saved session string. */
export type LoginInput<C> = C | { sessionString: string };

function nonNegative(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw new InvalidArgumentError(`${name} must be a finite number >= 0`);
  return v;
}

export class CredentialSession<C extends object, S> implements AsyncDisposable {
  /** The HTTP session requests go through (with the credential feature installed). */
  readonly http: Session;
  readonly #ownsHttp: boolean;
  readonly #profile: CredentialProfile<C, S>;
  readonly #feature: CredentialFeature;
  readonly #ctx: ProfileContext;
  readonly #marginMs: number;
  readonly #skewMs: number;
  readonly #maxInspect: number;
  readonly #loginGate: LoginGate;
  readonly #refreshGate: LoginGate;
  /** The fleet this session shares its saved session with (null: none). */
  readonly #shared: SharedRenewal<S> | null;
  #state: S | null = null;
  /**
   * The last state there was, for scope only: after EXPIRED or LOGOUT, a request to the old
   * PDS must still be recognised as ours and refused (SessionExpiredError / NotLoggedInError)
   * rather than sent without credentials.
   */
  #scopeState: S | null = null;
  /**
   * An automatic login (lazy, or renewal by re-login) was refused: the same credentials would
   * be refused again, so automatic logins stop until the application calls login() itself.
   */
  #autoLoginRefused: LoginFailedError | null = null;
  /** The session ended by EXPIRED (not by logout): requests say SessionExpiredError until a new login. */
  #expired = false;
  /** Bumped on every credential change; a message remembers the generation it went out with. */
  #gen = 0;
  #accessRefreshAt = Number.POSITIVE_INFINITY;
  #refreshDeadAt = Number.POSITIVE_INFINITY;
  readonly #renewFlight = new SingleFlight<void>();
  readonly #loginFlight = new SingleFlight<void>();
  #listeners: SessionChangeListener[] = [];
  #closed = false;

  constructor(profile: CredentialProfile<C, S>, options: CredentialSessionOptions = {}) {
    if (typeof options !== "object" || options === null) throw new InvalidArgumentError("options must be an object");
    this.#profile = profile;
    this.#marginMs = nonNegative("refreshMarginMs", options.refreshMarginMs, 60_000);
    this.#skewMs = nonNegative("clockSkewMs", options.clockSkewMs, 30_000);
    this.#maxInspect = nonNegative("maxInspectBytes", options.maxInspectBytes, 65_536);
    const waitMs = nonNegative("rateLimitWaitMs", options.rateLimitWaitMs, 60_000);
    this.#shared = options.coordination === undefined ? null : new SharedRenewal(options.coordination, profileCodec(profile));
    this.#loginGate = this.#shared?.gate("login", waitMs) ?? new LoginGate({ defaultWaitMs: waitMs });
    this.#refreshGate = this.#shared?.gate("refresh", waitMs) ?? new LoginGate({ defaultWaitMs: waitMs });
    if (options.session !== undefined && !(options.session instanceof Session)) {
      throw new InvalidArgumentError("options.session must be a sessionkit Session");
    }
    this.#ownsHttp = options.session === undefined;
    this.http = options.session ?? new Session(options.sessionOptions);
    this.#feature = new CredentialFeature({
      inScope: (url) => this.#profile.inScope(url, this.#state ?? this.#scopeState),
      prepare: (msg, tag, origin) => this.#prepare(msg, tag, origin),
      expiredByHeaders: (status, headers) => this.#profile.expiredByHeaders?.(status, headers) ?? false,
      maxInspect: profile.expiredByBody === undefined ? 0 : this.#maxInspect,
      inspectBody: (status, headers) => this.#profile.inspectBody?.(status, headers) ?? false,
      expiredByBody: (status, headers, json) => this.#profile.expiredByBody?.(status, headers, json) ?? false,
      queued: (msg) => this.#queued(msg),
    });
    // A Session keeps one feature per class, so one credential session per HTTP session.
    if (!this.http.addFeature(this.#feature)) {
      throw new InvalidArgumentError("This Session already has a credential session installed; use one Session per credential session");
    }
    this.#ctx = { http: this.http, exchange: (msg, kind) => this.#exchange(msg, kind) };
  }

  // ── state ─────────────────────────────────────────────────────────────────────────────

  get loggedIn(): boolean {
    return this.#state !== null;
  }

  /** Public, secret-free facts about the session (null when logged out). */
  get info(): Readonly<Record<string, string>> | null {
    return this.#state === null ? null : this.#profile.describe(this.#state);
  }

  /** @internal for profiles' session classes: the current state (null when logged out). */
  protected get state(): S | null {
    return this.#state;
  }

  /** Registers a listener for IMPORT/CREATE/REFRESH/EXPIRED/LOGOUT; returns a function that removes it. */
  onSessionChange(listener: SessionChangeListener): () => void {
    if (typeof listener !== "function") throw new InvalidArgumentError("onSessionChange needs a function");
    this.#listeners.push(listener);
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  // ── login, refresh, logout, session strings ───────────────────────────────────────────

  /** Logs in with credentials (CREATE), or imports `{ sessionString }` without the network (IMPORT). */
  async login(input: LoginInput<C>): Promise<void> {
    this.#assertOpen();
    if (typeof input !== "object" || input === null) throw new InvalidArgumentError("login() needs credentials or { sessionString }");
    if ("sessionString" in input) {
      const state = this.#importString((input as { sessionString: unknown }).sessionString);
      await this.#setState(state, "IMPORT", false);
      return;
    }
    // An explicit login never joins a lazy one that uses other credentials.
    await this.#loginFlight.current?.catch(() => undefined);
    this.#autoLoginRefused = null;
    await this.#login(input);
  }

  /** Refreshes now (single flight with any refresh already running). */
  async refresh(): Promise<void> {
    this.#assertOpen();
    await this.#settle();
    if (this.#state === null) throw new NotLoggedInError();
    await this.#renew(this.#gen);
  }

  /** Ends the session on the server (when the profile can) and forgets it locally (LOGOUT). */
  async logout(): Promise<void> {
    await this.#settle().catch(() => undefined);
    const state = this.#state;
    if (state === null) throw new NotLoggedInError();
    let error: unknown = null;
    try {
      await this.#profile.deleteSession?.(this.#ctx, state);
    } catch (err) {
      error = err;
    }
    // Tell the fleet even when the server call failed: the application ended the session.
    await this.#shared?.publish(null).catch((err: unknown) => (error ??= err));
    if (this.#state === state) await this.#setState(null, "LOGOUT", false);
    // An already-dead session is logged out all the same.
    if (error !== null && !(error instanceof SessionExpiredError)) throw error;
  }

  /** The session as a string that `login({ sessionString })` accepts in a later process. A secret. */
  exportSessionString(): string {
    const state = this.#state;
    if (state === null) throw new NotLoggedInError();
    return this.#profile.exportSessionString?.(state) ?? encodeSessionString(this.#profile.name, this.#profile.encodeState(state));
  }

  #importString(value: unknown): S {
    if (typeof value !== "string") throw new InvalidSessionStringError("not a string");
    if (value.length > MAX_SESSION_STRING_LENGTH) throw new InvalidSessionStringError("too long");
    if (isSessionkitString(value)) return this.#profile.decodeState(decodeSessionString(value, this.#profile.name));
    const own = this.#profile.importSessionString?.(value) ?? null;
    if (own === null) throw new InvalidSessionStringError("unknown format");
    return own;
  }

  #login(credentials: C): Promise<void> {
    return this.#loginFlight.run(async () => {
      const next = await this.#profile.createSession(this.#ctx, credentials, this.#state);
      await this.#shared?.publish(next); // a new login replaces the fleet's session
      await this.#setState(next, "CREATE", true);
    });
  }

  /** A login the session decides on by itself (lazy or renewal); stops after a refusal. */
  async #autoLogin(run: () => Promise<void>): Promise<void> {
    if (this.#autoLoginRefused !== null) throw this.#autoLoginRefused;
    try {
      await run();
    } catch (err) {
      if (err instanceof LoginFailedError) this.#autoLoginRefused = err;
      throw err;
    }
  }

  /** Waits for a login or refresh in progress, so nothing goes out with a token being replaced. */
  async #settle(): Promise<void> {
    const login = this.#loginFlight.current;
    if (login !== null) await login;
    const renew = this.#renewFlight.current;
    if (renew !== null) await renew;
  }

  /**
   * Renews the credentials that were current at generation `gen`. When they already changed
   * (another request renewed them), there is nothing to do: the caller just uses the new ones.
   */
  #renew(gen: number): Promise<void> {
    const running = this.#renewFlight.current;
    if (running !== null) return running;
    if (gen !== this.#gen) return Promise.resolve();
    return this.#renewFlight.run(async () => {
      const state = this.#state;
      if (gen !== this.#gen || state === null) return;
      if (this.#shared !== null) return this.#renewShared(this.#shared, state);
      const profile = this.#profile;
      if (profile.refreshSession === undefined) {
        // Services without refresh tokens renew by logging in again (astrometry.net).
        const credentials = profile.autoCredentials?.() ?? null;
        if (credentials === null) return this.#expire();
        return this.#autoLogin(async () => {
          const next = await profile.createSession(this.#ctx, credentials, state);
          if (this.#state === state) await this.#setState(next, "CREATE", true);
        });
      }
      if (Date.now() >= this.#refreshDeadAt) return this.#expire();
      let next: S;
      try {
        next = await profile.refreshSession(this.#ctx, state);
      } catch (err) {
        if (err instanceof SessionExpiredError && this.#state === state) await this.#setState(null, "EXPIRED", false);
        throw err;
      }
      // A logout or login that finished meanwhile wins over this answer.
      if (this.#state === state) await this.#setState(next, "REFRESH", true);
    });
  }

  /**
   * #renew when the saved session is shared: one renewal for the fleet. The process that
   * renewed says REFRESH (CREATE for a re-login); the others adopt its state and say SYNC,
   * or EXPIRED when the session ended for everyone.
   */
  async #renewShared(shared: SharedRenewal<S>, state: S): Promise<void> {
    const profile = this.#profile;
    let outcome: Awaited<ReturnType<SharedRenewal<S>["renew"]>>;
    try {
      outcome = await shared.renew(state, async (current) => {
        if (profile.refreshSession !== undefined) {
          if (Date.now() >= this.#refreshDeadAt) throw new SessionExpiredError();
          return profile.refreshSession(this.#ctx, current);
        }
        const credentials = profile.autoCredentials?.() ?? null;
        if (credentials === null) throw new SessionExpiredError();
        let next: S | null = null;
        await this.#autoLogin(async () => {
          next = await profile.createSession(this.#ctx, credentials, current);
        });
        return next as S;
      });
    } catch (err) {
      if (err instanceof SessionExpiredError && this.#state === state) await this.#setState(null, "EXPIRED", false);
      throw err;
    }
    // A logout or login that finished meanwhile wins over this answer.
    if (this.#state !== state) return;
    if (outcome.kind === "renewed") return this.#setState(outcome.state, profile.refreshSession === undefined ? "CREATE" : "REFRESH", true);
    if (outcome.state === null) return this.#expire();
    return this.#setState(outcome.state, "SYNC", false);
  }

  async #expire(): Promise<never> {
    await this.#setState(null, "EXPIRED", false);
    throw new SessionExpiredError();
  }

  /** Swaps the state (so nobody can use the old refresh token again), then awaits listeners. */
  async #setState(next: S | null, event: SessionEventName, fresh: boolean): Promise<void> {
    this.#state = next;
    if (next !== null) this.#scopeState = next;
    this.#expired = event === "EXPIRED";
    this.#gen++;
    this.#computeTimes(next, fresh);
    const change = new SessionChange(event, next === null ? {} : this.#profile.describe(next), next === null ? null : this.exportSessionString());
    await notifyListeners(this.#listeners, change);
  }

  #computeTimes(state: S | null, fresh: boolean): void {
    const schedule =
      state === null
        ? { accessRefreshAt: Number.POSITIVE_INFINITY, refreshDeadAt: Number.POSITIVE_INFINITY }
        : refreshSchedule({
            accessToken: this.#profile.accessToken?.(state) ?? null,
            refreshToken: this.#profile.refreshToken?.(state) ?? null,
            fresh,
            now: Date.now(),
            marginMs: this.#marginMs,
            skewMs: this.#skewMs,
          });
    this.#accessRefreshAt = schedule.accessRefreshAt;
    this.#refreshDeadAt = schedule.refreshDeadAt;
  }

  // ── the feature's side ────────────────────────────────────────────────────────────────

  /**
   * Called by the feature before every attempt of a message in scope. The common case (a
   * session, nothing running, nothing due) is synchronous, so the session does not await.
   * While a refresh (or login) runs, the message waits on it with a single reaction and then
   * decides again: after a refresh that is the synchronous case, so the 999 requests of a
   * burst that wait for one refresh cost one promise hop each, not a chain of async frames.
   */
  #prepare(msg: Message, tag: MessageTag, origin: string): void | Promise<void> {
    const state = this.#state;
    if (state !== null && tag.renewFor === null) {
      const running = this.#loginFlight.current ?? this.#renewFlight.current;
      if (running === null) {
        if (Date.now() < this.#accessRefreshAt) {
          this.#apply(msg, tag, origin, state);
          return;
        }
      } else {
        // A rejection (refresh refused, rate-limited…) fails this attempt with that error.
        return running.then(() => this.#prepare(msg, tag, origin));
      }
    }
    return this.#prepareSlow(msg, tag, origin);
  }

  async #prepareSlow(msg: Message, tag: MessageTag, origin: string): Promise<void> {
    await this.#settle();
    if (this.#state === null) {
      const credentials = this.#profile.autoCredentials?.() ?? null;
      // A message that went out with credentials lost its session under it: say so.
      if (credentials === null) throw this.#expired || tag.sentGen >= 0 ? new SessionExpiredError() : new NotLoggedInError();
      // Lazy login, right before the first real request; concurrent requests share it.
      await this.#autoLogin(() => this.#login(credentials));
    }
    if (tag.renewFor !== null) {
      const gen = tag.renewFor;
      tag.renewFor = null;
      await this.#renew(gen);
    } else if (Date.now() >= this.#accessRefreshAt) {
      await this.#renew(this.#gen);
    }
    const state = this.#state;
    if (state === null) throw new SessionExpiredError();
    this.#apply(msg, tag, origin, state);
  }

  /** Puts the credentials of `state` on the message and remembers which generation went out. */
  #apply(msg: Message, tag: MessageTag, origin: string, state: S): void {
    this.#profile.applyCredentials(msg, state);
    tag.sentGen = this.#gen;
    tag.origin = origin;
  }

  #exchange(msg: Message, kind: ExchangeKind): Promise<Exchange> {
    const gate = kind === "login" ? this.#loginGate : kind === "refresh" ? this.#refreshGate : null;
    // A shared gate reads the fleet's gate first and tells the fleet what this answer taught.
    if (gate instanceof SharedLoginGate) return gate.around(() => exchange(this.http, msg, kind, gate));
    return exchange(this.http, msg, kind, gate);
  }

  /**
   * A refresh that is due starts as the message is queued, before its trip through the
   * session's hooks, so in a burst of requests the refresh call is the first to reach the
   * connection pool (the requests wait for it in beforeSend either way). Its outcome reaches
   * each request through prepare(), which joins the same flight. Only the first request of
   * a burst starts it; the others find it running.
   */
  #queued(msg: Message): void {
    if (
      this.#state !== null &&
      this.#renewFlight.current === null &&
      this.#loginFlight.current === null &&
      Date.now() >= this.#accessRefreshAt &&
      !msg.isFeatureDisabled(this.#feature) &&
      this.#profile.inScope(msg.url, this.#state)
    ) {
      this.#renew(this.#gen).catch(() => undefined);
    }
  }

  // ── sending: shortcuts to the HTTP session (the feature does the work) ─────────────────

  /** `http.send(msg)`: sends with credentials; resolves at the headers. */
  send(msg: Message, options: SendOptions = {}): Promise<ResponseBody> {
    this.#assertOpen();
    return this.http.send(msg, options);
  }

  /** `http.sendAndRead(msg)`: sends and reads the whole body. */
  sendAndRead(msg: Message, options: SendOptions = {}): Promise<Uint8Array> {
    this.#assertOpen();
    return this.http.sendAndRead(msg, options);
  }

  /** `http.sendAndSplice(msg, target)`. */
  sendAndSplice(msg: Message, target: Writable | NodeJS.WritableStream, options: SpliceOptions = {}): Promise<number> {
    this.#assertOpen();
    return this.http.sendAndSplice(msg, target, options);
  }

  /** `http.fetch`: WHATWG fetch with credentials. */
  readonly fetch: SessionFetch = (input, init) => {
    this.#assertOpen();
    return this.http.fetch(input, init);
  };

  /** `http.websocketConnect(msg)`: the handshake carries the credentials and refreshes like any request. */
  websocketConnect(msg: Message, options: WebsocketConnectOptions = {}): Promise<WebsocketConnection> {
    this.#assertOpen();
    return this.http.websocketConnect(msg, options);
  }

  // ── lifecycle ─────────────────────────────────────────────────────────────────────────

  /** Removes the feature (or closes the Session this object created). Does not log out. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners = [];
    if (this.#ownsHttp) await this.http.close();
    else this.http.removeFeature(this.#feature);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new SessionClosedError("The credential session is closed");
  }

  toString(): string {
    const info = this.#state === null ? "" : ` ${JSON.stringify(this.#profile.describe(this.#state))}`;
    return `${this.constructor.name} { ${this.#profile.name}, ${this.#state === null ? "logged out" : "logged in"}${info} }`;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  /** JSON shows the public facts only (never tokens, keys or the HTTP session's internals). */
  toJSON(): { profile: string; loggedIn: boolean; info: Readonly<Record<string, string>> | null } {
    return { profile: this.#profile.name, loggedIn: this.loggedIn, info: this.info };
  }
}
