/**
 * Reads the claims of a JWT without verifying it. The client never needs to verify its own
 * access token (the server does that); it only reads `exp` to refresh before the server says
 * no. Anything malformed yields null instead of throwing: a token we cannot read is simply
 * refreshed reactively, when the server rejects it.
 */
export interface JwtClaims {
  exp?: number;
  iat?: number;
  sub?: string;
  scope?: string;
  [claim: string]: unknown;
}

// Guard against absurd inputs before decoding (a JWT payload is small).
const MAX_TOKEN_LENGTH = 16 * 1024;

export function decodeJwtClaims(token: string): JwtClaims | null {
  if (typeof token !== "string" || token.length > MAX_TOKEN_LENGTH) return null;
  const parts = token.split(".");
  if (parts.length !== 3 || parts[1] === "") return null;
  try {
    const json = Buffer.from(parts[1], "base64url").toString("utf8");
    const claims: unknown = JSON.parse(json);
    if (typeof claims !== "object" || claims === null || Array.isArray(claims)) return null;
    return claims as JwtClaims;
  } catch {
    return null;
  }
}

/** The token's expiry in epoch milliseconds, or null when it has no readable numeric `exp`. */
export function jwtExpiresAt(token: string): number | null {
  const exp = decodeJwtClaims(token)?.exp;
  return typeof exp === "number" && Number.isFinite(exp) && exp > 0 ? exp * 1000 : null;
}
