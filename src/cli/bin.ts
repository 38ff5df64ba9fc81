#!/usr/bin/env node
/**
 * The `sessionkit` command. This file stays tiny and imports nothing heavy: it picks the
 * command and loads only that command's module (and, through it, only the library entry
 * points the command needs), then prints any error as one line and sets the exit status.
 */
import module from "node:module";
import { errorLine, exitStatusOf } from "./errors.js";

// Node 22.1+ keeps compiled code between runs (most of a short command's start-up is
// compiling the modules it loads); on older Node this is a no-op.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();

const COMMANDS: Record<string, () => Promise<{ run(argv: string[]): Promise<number> }>> = {
  login: async () => ({ run: (await import("./login.js")).runLogin }),
  logout: async () => ({ run: (await import("./login.js")).runLogout }),
  sessions: async () => ({ run: (await import("./sessions.js")).runSessions }),
  realtime: async () => ({ run: (await import("./realtime.js")).runRealtime }),
};

async function main(argv: string[]): Promise<number> {
  const first = argv[0];
  if (first === undefined || first === "--help" || first === "help") {
    const { MAIN_HELP } = await import("./help.js");
    process.stdout.write(MAIN_HELP);
    return first === undefined ? 2 : 0;
  }
  if (first === "--version") {
    const { VERSION } = await import("../version.js");
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const command = COMMANDS[first];
  if (command !== undefined) return (await command()).run(argv.slice(1));
  const args = first === "request" ? argv.slice(1) : argv;
  return (await import("./request.js")).runRequest(args);
}

// Output that nobody reads any more (`sessionkit … | head`) is not an error.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
});

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
    // Everything is closed by now; a handle someone forgot must not keep the shell waiting.
    setTimeout(() => process.exit(status), 1000).unref();
  },
  (err: unknown) => {
    if ((err as NodeJS.ErrnoException)?.code === "EPIPE") return;
    process.stderr.write(`${errorLine(err)}\n`);
    if (process.env.SESSIONKIT_DEBUG) process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = exitStatusOf(err);
  },
);
