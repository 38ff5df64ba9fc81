/**
 * sessionkit's own session strings: `sessionkit:1:<base64url(JSON)>`. Self-describing (the
 * JSON names the profile, so a string from one service is refused by another) and versioned
 * (the `1`), so a later release can still read what an earlier one wrote. Profiles with an
 * established format of their own (atproto's `:::` strings) export that instead and accept
 * this one too.
 */
import { InvalidSessionStringError } from "./errors.js";

export const SESSION_STRING_PREFIX = "sessionkit:";
export const SESSION_STRING_VERSION = 1;
/** Session strings are small; refuse megabytes of input before decoding anything. */
export const MAX_SESSION_STRING_LENGTH = 64 * 1024;

export function encodeSessionString(profile: string, state: Record<string, unknown>): string {
  const json = JSON.stringify({ p: profile, s: state });
  return `${SESSION_STRING_PREFIX}${SESSION_STRING_VERSION}:${Buffer.from(json, "utf8").toString("base64url")}`;
}

export function isSessionkitString(value: string): boolean {
  return typeof value === "string" && value.startsWith(SESSION_STRING_PREFIX);
}

/** Decodes a `sessionkit:1:` string for `profile`; returns the profile's state object (unchecked). */
export function decodeSessionString(value: unknown, profile: string): Record<string, unknown> {
  if (typeof value !== "string") throw new InvalidSessionStringError("not a string");
  if (value.length > MAX_SESSION_STRING_LENGTH) throw new InvalidSessionStringError("too long");
  if (!isSessionkitString(value)) throw new InvalidSessionStringError("unknown format");
  const rest = value.slice(SESSION_STRING_PREFIX.length);
  const colon = rest.indexOf(":");
  const version = colon === -1 ? "" : rest.slice(0, colon);
  if (!/^\d+$/.test(version)) throw new InvalidSessionStringError("no version");
  if (Number(version) !== SESSION_STRING_VERSION) {
    throw new InvalidSessionStringError(`version ${Number(version)} is not supported (this release reads version ${SESSION_STRING_VERSION})`);
  }
  const payload = rest.slice(colon + 1);
  if (!/^[A-Za-z0-9_-]+$/.test(payload)) throw new InvalidSessionStringError("payload is not base64url");
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
  } catch {
    throw new InvalidSessionStringError("payload is not JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new InvalidSessionStringError("payload is not an object");
  const { p, s } = parsed as { p?: unknown; s?: unknown };
  if (p !== profile)
    throw new InvalidSessionStringError(
      `made for another profile (${typeof p === "string" ? JSON.stringify(p.slice(0, 40)) : "none"}), not ${JSON.stringify(profile)}`,
    );
  if (typeof s !== "object" || s === null || Array.isArray(s)) throw new InvalidSessionStringError("no session state");
  return s as Record<string, unknown>;
}
