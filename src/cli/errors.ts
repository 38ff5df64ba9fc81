/**
 * CLI errors and exit statuses. Library errors carry their own stable `code`; the CLI adds
 * a few of its own (USAGE, NO_PASSWORD, …) with the same shape, so every failure prints as
 * one line: `sessionkit: error: CODE: message`.
 *
 * Exit statuses follow HTTPie's, so scripts written for `http` keep working:
 * 1 error, 2 usage error or timeout, 3/4/5 an HTTP 3xx/4xx/5xx under --check-status,
 * 6 too many redirects, 130 interrupted.
 */
export const ExitStatus = {
  OK: 0,
  ERROR: 1,
  USAGE: 2,
  TIMEOUT: 2,
  HTTP_3XX: 3,
  HTTP_4XX: 4,
  HTTP_5XX: 5,
  TOO_MANY_REDIRECTS: 6,
  INTERRUPTED: 130,
} as const;

/** An error of the command line itself (not of the library). */
export class CliError extends Error {
  readonly code: string;
  readonly exitStatus: number;

  constructor(code: string, message: string, exitStatus: number = ExitStatus.ERROR) {
    super(message);
    this.name = "CliError";
    this.code = code;
    this.exitStatus = exitStatus;
  }
}

/** Wrong arguments: exit status 2, like argparse (and so HTTPie). */
export class UsageError extends CliError {
  constructor(message: string) {
    super("USAGE", message, ExitStatus.USAGE);
  }
}

/** The exit status for any error that reaches the top. */
export function exitStatusOf(err: unknown): number {
  if (err instanceof CliError) return err.exitStatus;
  const code = (err as { code?: unknown } | null)?.code;
  if (code === "TIMEOUT") return ExitStatus.TIMEOUT;
  if (code === "TOO_MANY_REDIRECTS") return ExitStatus.TOO_MANY_REDIRECTS;
  return ExitStatus.ERROR;
}

/**
 * One line for the terminal: the typed error's code and message. Library messages never
 * carry secrets (they are built that way); control characters are flattened so a hostile
 * server text cannot move the cursor or add lines.
 */
export function errorLine(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown; name?: unknown } | null;
  const code = typeof e?.code === "string" && e.code !== "" ? e.code : typeof e?.name === "string" ? e.name : "ERROR";
  const message = typeof e?.message === "string" ? e.message : String(err);
  return `sessionkit: error: ${code}: ${message.replace(/[\x00-\x1f\x7f]+/g, " ").trim()}`;
}
