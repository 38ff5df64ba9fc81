/**
 * Resume tokens: 256 random bits handed to the client in the welcome frame. The server
 * keeps only a SHA-256 of it and compares digests in constant time, so knowing a session
 * id (which is printed in logs) is not enough to take a session over, and a leaked copy
 * of the server's state (e.g. Redis) does not reveal the token either.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

export function newResumeToken(): string {
  return randomBytes(32).toString("base64url");
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

export function tokenMatches(token: string, expectedHash: string): boolean {
  const a = Buffer.from(hashToken(token), "hex");
  const b = Buffer.from(expectedHash, "hex");
  return a.length === b.length && timingSafeEqual(a, b);
}
