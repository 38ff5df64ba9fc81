/**
 * The base of every auth scheme (libsoup's SoupAuth). One Auth object answers one
 * challenge in one protection space: it holds the challenge's parameters and, once the
 * application supplied them, the credentials, and it computes the Authorization header
 * value for each request.
 *
 * Schemes are sub-features of the AuthManager: `session.addFeatureByType(MyScheme)` adds
 * a class that extends Auth and sets the static `schemeName` and `strength`.
 *
 * The credentials live in an ES private field and the object has a custom inspect, so a
 * password or token never shows in `util.inspect`, `toString()`, JSON or an error.
 */
import { InvalidArgumentError } from "../../errors.js";
import type { Message } from "../../http/message.js";
import type { AuthChallenge } from "./challenge-parser.js";

export interface AuthInit {
  /** The URL that was challenged (or, for `useAuth`, the URL the credentials are for). */
  url: URL | string;
  /** The challenge this auth answers; absent for credentials preloaded with `useAuth`. */
  challenge?: AuthChallenge | null;
  /** True for a proxy (407) challenge. @default false */
  isProxy?: boolean;
}

/** A concrete Auth class as the AuthManager constructs it. */
export interface AuthClass {
  new (init: AuthInit): Auth;
  readonly schemeName: string;
  readonly strength: number;
  challengeStrength(challenge: AuthChallenge): number;
  readonly prototype: Auth;
}

const BAD_CHARS = /[\r\n\0]/;

export abstract class Auth {
  /** The scheme name as used in headers, e.g. "Digest". Subclasses must set it. */
  static readonly schemeName: string = "";
  /**
   * How strong the scheme is when a server offers several challenges (higher wins).
   * Built in: Basic 10, Bearer 20, Digest 30 (MD5) to 50 (SHA-512-256).
   */
  static readonly strength: number = 0;

  /**
   * The strength of this scheme for one concrete challenge, or a negative number when the
   * scheme cannot answer it (e.g. a Digest algorithm we do not implement).
   */
  static challengeStrength(this: { strength: number }, _challenge: AuthChallenge): number {
    return this.strength;
  }

  readonly isProxy: boolean;
  /** The origin (scheme://host:port) that was challenged. */
  readonly origin: string;
  /** The URL that was challenged, without userinfo, query or fragment. */
  readonly url: URL;
  #realm: string;
  #params: Record<string, string>;
  #username: string | null = null;
  #password: string | null = null;

  constructor(init: AuthInit) {
    const url = new URL(typeof init.url === "string" ? init.url : init.url.href);
    url.username = "";
    url.password = "";
    url.search = "";
    url.hash = "";
    this.url = url;
    this.origin = url.origin;
    this.isProxy = init.isProxy ?? false;
    this.#params = { ...(init.challenge?.params ?? {}) };
    this.#realm = this.#params.realm ?? "";
  }

  get schemeName(): string {
    return (this.constructor as typeof Auth).schemeName;
  }

  get realm(): string {
    return this.#realm;
  }

  /** The challenge parameters (no credentials are ever stored here). */
  get params(): Readonly<Record<string, string>> {
    return this.#params;
  }

  /** Replaces the challenge parameters (used by `update`). */
  protected setParams(params: Record<string, string>): void {
    this.#params = { ...params };
    this.#realm = this.#params.realm ?? this.#realm;
  }

  /** Records the credentials (for Bearer: the token as `password`). */
  authenticate(username: string, password: string): void {
    if (typeof username !== "string" || typeof password !== "string") {
      throw new InvalidArgumentError("authenticate(username, password) needs two strings");
    }
    if (BAD_CHARS.test(username) || BAD_CHARS.test(password)) {
      throw new InvalidArgumentError("Credentials must not contain CR, LF or NUL");
    }
    this.#username = username;
    this.#password = password;
  }

  get isAuthenticated(): boolean {
    return this.#username !== null;
  }

  /** True when these exact credentials are the ones held (to stop retrying rejected ones). */
  hasCredentials(username: string, password: string): boolean {
    return this.#username === username && this.#password === password;
  }

  /** Forgets the credentials. */
  forget(): void {
    this.#username = null;
    this.#password = null;
  }

  protected get username(): string {
    return this.#username ?? "";
  }

  protected get password(): string {
    return this.#password ?? "";
  }

  /** Copies the credentials of `from` into `to` (cache hits for a new challenge). */
  static copyCredentials(from: Auth, to: Auth): void {
    if (from.#username === null) return;
    to.authenticate(from.#username, from.#password ?? "");
  }

  /**
   * A new challenge of the same scheme arrived after this auth was used. Returns true when
   * the held credentials should be tried again without asking (Digest `stale=true`).
   */
  update(challenge: AuthChallenge): boolean {
    this.setParams(challenge.params);
    return false;
  }

  /** True when this auth can answer for `msg` (e.g. Digest auth-int needs a replayable body). */
  canAnswer(_msg: Message): boolean {
    return true;
  }

  /**
   * The Authorization (or Proxy-Authorization) value for `msg`, or null when this auth
   * cannot produce one yet (no credentials, or Digest without a nonce).
   */
  abstract getAuthorization(msg: Message): string | null;

  /**
   * The paths on `this.origin` these credentials cover, as path prefixes. The default is
   * the directory of the challenged path (RFC 7617 §2.2).
   */
  getProtectionSpace(): string[] {
    const p = this.url.pathname;
    return [p.slice(0, p.lastIndexOf("/") + 1) || "/"];
  }

  /**
   * Called for a response to a request this auth authorized, with its parsed
   * `Authentication-Info` (or null). May throw an AuthError to reject the response.
   */
  checkResponse(_msg: Message, _info: Record<string, string> | null): void {}

  toString(): string {
    return `${this.constructor.name} { scheme: ${this.schemeName}, realm: ${JSON.stringify(this.realm)}, origin: ${this.origin}, authenticated: ${this.isAuthenticated} }`;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  toJSON(): Record<string, unknown> {
    return { scheme: this.schemeName, realm: this.realm, origin: this.origin, authenticated: this.isAuthenticated };
  }
}

/** True when `type` is a concrete subclass of Auth with a scheme name. */
export function isAuthClass(type: unknown): type is AuthClass {
  return (
    typeof type === "function" &&
    type.prototype instanceof Auth &&
    typeof (type as unknown as AuthClass).schemeName === "string" &&
    (type as unknown as AuthClass).schemeName !== ""
  );
}
