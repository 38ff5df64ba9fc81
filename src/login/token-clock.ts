/**
 * When to refresh, on our clock. Pure functions so the rules can be tested without servers:
 *
 * - refresh `margin` before the access token's `exp`, but never earlier than half its
 *   lifetime (a token that lives less than the margin would otherwise be refreshed on every
 *   request);
 * - for a token just received, `iat` tells the server's clock: an offset beyond the tolerated
 *   skew shifts the expiry onto our clock (a machine whose clock runs an hour ahead would
 *   otherwise see every new token as already expired and refresh in a loop);
 * - a refresh token counts as dead only `skew` after its `exp` (the server may still take it).
 */
import { decodeJwtClaims } from "./jwt.js";

export interface RefreshSchedule {
  /** Epoch ms (our clock) from which requests refresh first; Infinity: never proactively. */
  accessRefreshAt: number;
  /** Epoch ms (our clock) from which refresh is pointless; Infinity: unknown. */
  refreshDeadAt: number;
}

export interface ScheduleInput {
  accessToken: string | null;
  refreshToken: string | null;
  /** The tokens were just issued (login/refresh) rather than imported from a saved string. */
  fresh: boolean;
  now: number;
  marginMs: number;
  skewMs: number;
}

export function refreshSchedule(input: ScheduleInput): RefreshSchedule {
  const { now, marginMs, skewMs } = input;
  let accessRefreshAt = Number.POSITIVE_INFINITY;
  let refreshDeadAt = Number.POSITIVE_INFINITY;
  const access = localExpiry(input.accessToken, input.fresh, now, skewMs);
  // A just-issued token that is already expired on our clock is not trusted for scheduling
  // (refreshing would only fetch another one like it, on every request); the server's own
  // "expired" answer drives the refresh instead.
  if (access !== null && !(input.fresh && access <= now)) {
    accessRefreshAt = access - Math.min(marginMs, Math.max(0, (access - now) / 2));
  }
  const refresh = localExpiry(input.refreshToken, input.fresh, now, skewMs);
  if (refresh !== null) refreshDeadAt = refresh + skewMs;
  return { accessRefreshAt, refreshDeadAt };
}

/** A JWT's `exp` moved onto our clock (see the file comment); null when it has none. */
export function localExpiry(token: string | null, fresh: boolean, now: number, skewMs: number): number | null {
  if (token === null) return null;
  const claims = decodeJwtClaims(token);
  if (claims === null || typeof claims.exp !== "number" || !Number.isFinite(claims.exp)) return null;
  let exp = claims.exp * 1000;
  if (fresh && typeof claims.iat === "number" && Number.isFinite(claims.iat)) {
    const offset = now - claims.iat * 1000;
    if (Math.abs(offset) > skewMs) exp += offset;
  }
  return exp;
}
