/**
 * Finding an API key: the argument, then a file that holds only the key, then an
 * environment variable (the astrometry.net client's order). With none, ApiKeyError names all
 * three places so the user knows where to put one; no message ever contains a key.
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { ApiKeyError } from "./errors.js";

export interface ApiKeySources {
  /** The key itself (trimmed; empty counts as absent). */
  apiKey?: string | null;
  /** A file that holds only the key; `~/` means the home directory. */
  keyLocation?: string | null;
  /** The environment variable to read. */
  envVar?: string | null;
  /** The environment to read it from. @default process.env */
  env?: Record<string, string | undefined>;
}

export type ApiKeySource = "argument" | "file" | "environment";

/** Keys are single tokens; a file with more than this is not a key file. */
const MAX_KEY_LENGTH = 4096;

function expandHome(path: string): string {
  return path === "~" || path.startsWith("~/") ? homedir() + path.slice(1) : path;
}

function usable(value: unknown): string | null {
  if (typeof value !== "string") return null;
  const v = value.trim();
  return v === "" || v.length > MAX_KEY_LENGTH || /[\s\0]/.test(v) ? null : v;
}

export function resolveApiKey(sources: ApiKeySources): { key: string; source: ApiKeySource } {
  const fromArg = usable(sources.apiKey);
  if (fromArg !== null) return { key: fromArg, source: "argument" };

  let fileNote = "no key file given (keyLocation)";
  if (sources.keyLocation != null && sources.keyLocation !== "") {
    const path = expandHome(sources.keyLocation);
    try {
      const key = usable(readFileSync(path, "utf8"));
      if (key !== null) return { key, source: "file" };
      fileNote = `the key file ${JSON.stringify(path)} is empty or holds more than a key`;
    } catch (err) {
      fileNote = `the key file ${JSON.stringify(path)} could not be read (${(err as NodeJS.ErrnoException).code ?? "error"})`;
    }
  }

  const envVar = sources.envVar ?? null;
  let envNote = "no environment variable given (envVar)";
  if (envVar !== null && envVar !== "") {
    const key = usable((sources.env ?? process.env)[envVar]);
    if (key !== null) return { key, source: "environment" };
    envNote = `the environment variable ${envVar} is not set`;
  }
  throw new ApiKeyError(
    `No API key found: pass { apiKey }, put the key alone in a file given as keyLocation, or set the environment variable ${envVar ?? "(envVar)"}. Tried: no apiKey argument; ${fileNote}; ${envNote}.`,
  );
}
