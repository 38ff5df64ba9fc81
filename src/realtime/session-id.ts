/**
 * Session ids: 128 random bits printed as Diffusion prints them, two 64-bit halves in
 * lower-case hex joined by '-': `xxxxxxxxxxxxxxxx-xxxxxxxxxxxxxxxx`.
 */
import { randomBytes } from "node:crypto";

const SESSION_ID = /^[0-9a-f]{16}-[0-9a-f]{16}$/;

export function newSessionId(): string {
  const b = randomBytes(16).toString("hex");
  return `${b.slice(0, 16)}-${b.slice(16)}`;
}

export function isSessionId(value: unknown): value is string {
  return typeof value === "string" && SESSION_ID.test(value);
}
