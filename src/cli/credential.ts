/**
 * Credential sessions (sessionkit/login) on a named session. The login's session string
 * lives in secrets.json; this module imports it into an AtprotoSession or ApiKeySession
 * installed on the command's HTTP Session, and saves every change the library announces
 * (CREATE, REFRESH with a rotated refresh token, EXPIRED) the moment it happens.
 *
 * A refresh token is good for one use, so two commands must never refresh the same one:
 * the session lock is held from reading the session string until the request's headers
 * are in (a refresh, reactive or proactive, happens before that) and the rotation is on
 * disk. Commands on sessions without a login never take the lock.
 */
import { CliError } from "./errors.js";
import type { LoginLib } from "./lib.js";
import { readMeta, readSecrets, updateMeta, updateSecrets, type LoginKind, type LoginMeta } from "./session-files.js";

type Session = InstanceType<typeof import("../index.js").Session>;
type Credential = InstanceType<LoginLib["AtprotoSession"]> | InstanceType<LoginLib["ApiKeySession"]>;

export interface CredentialOptions {
  name: string;
  dir: string;
  http: Session;
  /** Whether CREATE/REFRESH are saved (a rotation is saved even for --session-read-only: the old token is dead). */
  save: boolean;
}

export function loginHint(kind: LoginKind, name: string): string {
  return kind === "atproto"
    ? `sessionkit login atproto --session ${name} --identifier HANDLE`
    : `sessionkit login apikey --session ${name} --api-url URL`;
}

/** Makes the credential session object for `login` (not logged in yet). */
export function newCredential(lib: LoginLib, kind: LoginKind, http: Session, service: string, apiKey?: string): Credential {
  if (kind === "atproto") return new lib.AtprotoSession({ session: http, service });
  return new lib.ApiKeySession({ session: http, apiUrl: service, apiKey: apiKey ?? null, envVar: null });
}

/** Saves the library's session changes into the session directory (call under the lock). */
export function persistChanges(lib: LoginLib, cred: Credential, o: { dir: string; kind: LoginKind; service: string; apiKey?: string }): void {
  cred.onSessionChange((event, change) => {
    if (event === "IMPORT") return;
    if (event === "CREATE" || event === "REFRESH") {
      const sessionString = change.sessionString!;
      updateSecrets(o.dir, (s) => {
        s.login = { sessionString, ...(o.apiKey !== undefined ? { apiKey: o.apiKey } : s.login?.apiKey ? { apiKey: s.login.apiKey } : {}) };
      });
      updateMeta(o.dir, (m) => {
        const now = new Date().toISOString();
        const login: LoginMeta = event === "CREATE" || m.login === undefined ? { kind: o.kind, service: o.service, created: now } : { ...m.login };
        if (event === "REFRESH") login.refreshed = now;
        delete login.expired;
        if (o.kind === "atproto") {
          login.handle = change.info.handle;
          login.did = change.info.did;
          login.pds = change.info.pdsEndpoint ?? change.info.pds;
          Object.assign(login, tokenTimes(lib, sessionString));
        }
        m.login = login;
      });
      return;
    }
    // EXPIRED or LOGOUT: the saved string is dead; keep what the login was, for `sessions show`.
    updateSecrets(o.dir, (s) => delete s.login);
    updateMeta(o.dir, (m) => {
      if (event === "LOGOUT") delete m.login;
      else if (m.login) m.login.expired = new Date().toISOString();
    });
  });
}

function tokenTimes(lib: LoginLib, sessionString: string): Pick<LoginMeta, "accessExpires" | "refreshExpires"> {
  try {
    const state = lib.parseAtprotoSessionString(sessionString);
    if (state === null) return {};
    const iso = (ms: number | null) => (ms === null ? undefined : new Date(ms).toISOString());
    return { accessExpires: iso(lib.jwtExpiresAt(state.accessJwt)), refreshExpires: iso(lib.jwtExpiresAt(state.refreshJwt)) };
  } catch {
    return {};
  }
}

/**
 * The credential session of a named session that has a login, imported from disk, or
 * null when the session has none. Call it under the session lock.
 */
export async function openSavedCredential(lib: LoginLib, o: CredentialOptions): Promise<Credential | null> {
  const meta = readMeta(o.dir);
  const login = meta.login;
  if (login === undefined) return null;
  const secrets = readSecrets(o.dir);
  if (secrets.login === undefined) {
    if (login.expired !== undefined) {
      throw new CliError(
        "SESSION_EXPIRED",
        `the login of session ${o.name} expired on ${login.expired}: log in again (${loginHint(login.kind, o.name)})`,
      );
    }
    return null;
  }
  const cred = newCredential(lib, login.kind, o.http, login.service, secrets.login.apiKey);
  await cred.login({ sessionString: secrets.login.sessionString });
  if (o.save) persistChanges(lib, cred, { dir: o.dir, kind: login.kind, service: login.service });
  return cred;
}
