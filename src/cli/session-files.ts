/**
 * The two JSON files of a named session and their shapes. session.json is what
 * `sessions show` prints; secrets.json holds every secret and is printed only with
 * --show-secrets. Both are written atomically (store.ts).
 */
import { join } from "node:path";
import { FILES, readJson, writeJson } from "./store.js";

export type AuthType = "basic" | "digest" | "bearer";
export type LoginKind = "atproto" | "apikey";

export interface LoginMeta {
  kind: LoginKind;
  /** The entryway (atproto) or the API root (apikey). */
  service: string;
  handle?: string;
  did?: string;
  /** Where the account's requests go (atproto). */
  pds?: string;
  /** When the login was made, and when its tokens were last rotated. */
  created: string;
  refreshed?: string;
  /** Until when the current access token is good (ISO date), when the token says. */
  accessExpires?: string;
  refreshExpires?: string;
  /** Set when the library said EXPIRED: the login is dead and must be made again. */
  expired?: string;
}

export interface AuthMeta {
  type: AuthType;
  username: string;
  origin: string;
  realm?: string;
}

export interface SessionMeta {
  version: 1;
  created: string;
  updated?: string;
  login?: LoginMeta;
  auth?: AuthMeta;
}

export interface SavedAuth {
  type: AuthType;
  username: string;
  password: string;
  /** The URL the credentials were given for (their origin is their scope). */
  url: string;
  /** The Digest challenge in use and how many times its nonce was counted, to go on without a 401. */
  digest?: { params: Record<string, string>; nc: number };
}

export interface SessionSecrets {
  auth?: SavedAuth;
  login?: { sessionString: string; apiKey?: string };
}

export function readMeta(dir: string): SessionMeta {
  return readJson<SessionMeta>(join(dir, FILES.meta)) ?? { version: 1, created: new Date().toISOString() };
}

export function readSecrets(dir: string): SessionSecrets {
  return readJson<SessionSecrets>(join(dir, FILES.secrets)) ?? {};
}

/** Read-modify-write of session.json; call under the session lock. */
export function updateMeta(dir: string, change: (meta: SessionMeta) => void): void {
  const meta = readMeta(dir);
  change(meta);
  meta.updated = new Date().toISOString();
  writeJson(join(dir, FILES.meta), meta);
}

/** Read-modify-write of secrets.json; call under the session lock. */
export function updateSecrets(dir: string, change: (secrets: SessionSecrets) => void): void {
  const secrets = readSecrets(dir);
  change(secrets);
  writeJson(join(dir, FILES.secrets), secrets);
}
