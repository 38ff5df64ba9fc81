/**
 * Asking for a password without echo. Passwords are never taken from the command line by
 * default advice (shell history, `ps`): the prompt, or SESSIONKIT_PASSWORD for scripts.
 */
import { CliError } from "./errors.js";

export const PASSWORD_ENV = "SESSIONKIT_PASSWORD";

/** The password from SESSIONKIT_PASSWORD, else a prompt on the terminal. */
export async function passwordFromEnvOrPrompt(question: string): Promise<string> {
  const env = process.env[PASSWORD_ENV];
  if (env !== undefined && env !== "") return env;
  return promptHidden(question);
}

export function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    return Promise.reject(new CliError("NO_PASSWORD", `a password is needed and there is no terminal to ask on: set ${PASSWORD_ENV}`));
  }
  process.stderr.write(question);
  return new Promise((resolve, reject) => {
    let value = "";
    const done = (err: Error | null) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off("data", onData);
      process.stderr.write("\n");
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString("utf8")) {
        if (ch === "\r" || ch === "\n") return done(null);
        if (ch === "\u0003") return done(new CliError("INTERRUPTED", "interrupted", 130));
        if (ch === "\u0004" && value === "") return done(new CliError("NO_PASSWORD", "no password given"));
        if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
        else if (ch >= " ") value += ch;
      }
    };
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on("data", onData);
  });
}
