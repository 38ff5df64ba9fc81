/**
 * `sessionkit login atproto|apikey` and `sessionkit logout`: a credential session of
 * sessionkit/login, installed on the named session's HTTP Session (so its cookies, proxy
 * and TLS settings apply to the login too), with every change saved as it happens.
 */
import { flag, list, parseArgs, str, type OptionTable } from "./args.js";
import { CliError, ExitStatus, UsageError } from "./errors.js";
import { LOGIN_HELP, LOGOUT_HELP } from "./help.js";
import { loadLib, loadLogin } from "./lib.js";
import { openHttpSession } from "./http-session.js";
import { newCredential, openSavedCredential, persistChanges } from "./credential.js";
import { passwordFromEnvOrPrompt } from "./prompt.js";
import { readMeta, updateMeta, updateSecrets } from "./session-files.js";
import { checkName, sessionExists, withLock } from "./store.js";

const CONNECTION: OptionTable = {
  timeout: { kind: "value" },
  proxy: { kind: "value", repeat: true },
  verify: { kind: "value" },
  cert: { kind: "value" },
  key: { kind: "value" },
};

export const LOGIN_OPTIONS: OptionTable = {
  session: { kind: "value" },
  identifier: { kind: "value" },
  service: { kind: "value" },
  "api-url": { kind: "value" },
  "api-key": { kind: "value" },
  "key-file": { kind: "value" },
  ...CONNECTION,
  help: { kind: "flag" },
};

export const LOGOUT_OPTIONS: OptionTable = { session: { kind: "value" }, ...CONNECTION, help: { kind: "flag" } };

function requireSession(name: string | undefined): string {
  if (name === undefined) throw new UsageError("--session NAME is required");
  return checkName(name);
}

export async function runLogin(argv: string[]): Promise<number> {
  const p = parseArgs(argv, LOGIN_OPTIONS);
  if (flag(p, "help")) {
    process.stdout.write(LOGIN_HELP);
    return ExitStatus.OK;
  }
  const kind = p.positionals[0];
  if (kind !== "atproto" && kind !== "apikey") throw new UsageError("login needs a kind: sessionkit login atproto|apikey --session NAME …");
  if (p.positionals.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(p.positionals[1])}`);
  const name = requireSession(str(p, "session"));
  const loginLib = await loadLogin();

  // Everything that can fail without the network fails before a session directory is made.
  let service: string;
  let apiKey: string | undefined;
  let credentials: { identifier: string; password: string } | null = null;
  if (kind === "atproto") {
    const identifier = str(p, "identifier");
    if (identifier === undefined) throw new UsageError("login atproto needs --identifier HANDLE");
    service = str(p, "service") ?? loginLib.DEFAULT_ATPROTO_SERVICE;
    credentials = { identifier, password: await passwordFromEnvOrPrompt(`Password for ${identifier}: `) };
  } else {
    service = str(p, "api-url") ?? loginLib.ASTROMETRY_API_URL;
    apiKey = loginLib.resolveApiKey({ apiKey: str(p, "api-key"), keyLocation: str(p, "key-file"), envVar: loginLib.ASTROMETRY_API_KEY_ENV }).key;
  }

  const lib = await loadLib();
  const http = await openHttpSession(lib, {
    name,
    timeout: str(p, "timeout"),
    proxy: list(p, "proxy"),
    verify: str(p, "verify"),
    cert: str(p, "cert"),
    key: str(p, "key"),
  });
  try {
    const dir = http.dir!;
    await withLock(dir, async () => {
      const cred = newCredential(loginLib, kind, http.session, service, apiKey);
      persistChanges(loginLib, cred, { dir, kind, service, apiKey });
      if (credentials !== null) await cred.login(credentials as never);
      else await cred.login({ force: true } as never);
      const info = cred.info ?? {};
      const who = kind === "atproto" ? `${info.handle} (${info.did}) at ${info.pdsEndpoint}` : `${service}`;
      process.stderr.write(`Logged in: ${who}; session ${name}\n`);
      await cred.close();
    });
  } finally {
    await http.close();
  }
  return ExitStatus.OK;
}

export async function runLogout(argv: string[]): Promise<number> {
  const p = parseArgs(argv, LOGOUT_OPTIONS);
  if (flag(p, "help")) {
    process.stdout.write(LOGOUT_HELP);
    return ExitStatus.OK;
  }
  if (p.positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(p.positionals[0])}`);
  const name = requireSession(str(p, "session"));
  if (!sessionExists(name)) throw new CliError("SESSION_NOT_FOUND", `no session named ${JSON.stringify(name)} (see sessionkit sessions list)`);
  const lib = await loadLib();
  const http = await openHttpSession(lib, {
    name,
    timeout: str(p, "timeout"),
    proxy: list(p, "proxy"),
    verify: str(p, "verify"),
    cert: str(p, "cert"),
    key: str(p, "key"),
  });
  let what = "nothing to log out of";
  try {
    const dir = http.dir!;
    await withLock(dir, async () => {
      const meta = readMeta(dir);
      if (meta.login !== undefined) {
        const loginLib = await loadLogin();
        const cred = await openSavedCredential(loginLib, { name, dir, http: http.session, save: true }).catch((err: unknown) => {
          // An expired login is logged out all the same.
          if ((err as { code?: string }).code === "SESSION_EXPIRED") return null;
          throw err;
        });
        if (cred !== null) {
          await cred.logout();
          await cred.close();
        }
        what = `logged out of ${meta.login.kind} at ${meta.login.service}`;
      }
      if (meta.auth !== undefined)
        what = meta.login !== undefined ? `${what}; forgot the ${meta.auth.type} credentials` : `forgot the ${meta.auth.type} credentials`;
      updateSecrets(dir, (s) => {
        delete s.login;
        delete s.auth;
      });
      updateMeta(dir, (m) => {
        delete m.login;
        delete m.auth;
      });
    });
  } finally {
    await http.close();
  }
  process.stderr.write(`Session ${name}: ${what}\n`);
  return ExitStatus.OK;
}
