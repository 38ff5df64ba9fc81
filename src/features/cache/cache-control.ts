/**
 * Cache-Control (RFC 9111 §5.2) and HTTP-date (RFC 9110 §5.6.7) parsing.
 *
 * undici 7 has a careful Cache-Control parser (lib/util/cache.js), but undici publishes no
 * subpath exports for it, so reaching it means a deep import that any patch release may
 * move. This is a small parser with the same rules where they matter for a private cache:
 * quoted strings are honoured, the first occurrence of a directive wins (RFC 9111 §4.2.1),
 * an invalid delta-seconds makes the response stale rather than fresh, and values beyond
 * 2^31 are clamped (§1.2.2). It never throws: hostile headers only make a response less
 * cacheable.
 */

export interface CacheControl {
  maxAge?: number;
  sMaxAge?: number;
  /** Request: max-stale with no value means "any staleness". */
  maxStale?: number;
  minFresh?: number;
  /** true when unqualified; the field names when qualified (`no-cache="Set-Cookie"`). */
  noCache?: true | string[];
  noStore?: boolean;
  private?: true | string[];
  public?: boolean;
  mustRevalidate?: boolean;
  proxyRevalidate?: boolean;
  immutable?: boolean;
  noTransform?: boolean;
  onlyIfCached?: boolean;
  mustUnderstand?: boolean;
  staleWhileRevalidate?: number;
  staleIfError?: number;
}

/** RFC 9111 §1.2.2: the value to use for a delta-seconds that overflows. */
export const MAX_DELTA_SECONDS = 2147483648;
/** Headers longer than this are not parsed (they make the response uncacheable, see below). */
const MAX_HEADER_LENGTH = 16 * 1024;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Splits on commas outside quoted strings; returns [name, value|undefined] pairs. */
function* directives(value: string): Generator<[string, string | undefined]> {
  let i = 0;
  const n = value.length;
  while (i < n) {
    while (i < n && (value[i] === " " || value[i] === "\t" || value[i] === ",")) i++;
    if (i >= n) return;
    let j = i;
    while (j < n && value[j] !== "=" && value[j] !== ",") j++;
    const name = value.slice(i, j).trim().toLowerCase();
    let v: string | undefined;
    if (j < n && value[j] === "=") {
      j++;
      while (j < n && (value[j] === " " || value[j] === "\t")) j++;
      if (value[j] === '"') {
        j++;
        let out = "";
        while (j < n && value[j] !== '"') {
          if (value[j] === "\\" && j + 1 < n) j++;
          out += value[j++];
        }
        j++; // closing quote (or past the end)
        v = out;
        while (j < n && value[j] !== ",") j++;
      } else {
        let k = j;
        while (k < n && value[k] !== ",") k++;
        v = value.slice(j, k).trim();
        j = k;
      }
    }
    i = j;
    if (name !== "") yield [name, v];
  }
}

function deltaSeconds(v: string | undefined): number {
  if (v === undefined || !/^[0-9]+$/.test(v)) return 0; // invalid: treat as already stale
  const n = Number(v);
  return n > MAX_DELTA_SECONDS ? MAX_DELTA_SECONDS : n;
}

function fieldList(v: string): string[] | null {
  const names = v
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  return names.length > 0 && names.every((s) => TOKEN.test(s)) ? names : null;
}

/** Parses one or more Cache-Control values (pass `headers.get()`, which joins them with ", "). */
export function parseCacheControl(value: string | null): CacheControl {
  const cc: CacheControl = {};
  if (value === null || value === "") return cc;
  if (value.length > MAX_HEADER_LENGTH) return { noStore: true };
  for (const [name, v] of directives(value)) {
    switch (name) {
      case "max-age":
        cc.maxAge ??= deltaSeconds(v);
        break;
      case "s-maxage":
        cc.sMaxAge ??= deltaSeconds(v);
        break;
      case "min-fresh":
        cc.minFresh ??= deltaSeconds(v);
        break;
      case "max-stale":
        cc.maxStale ??= v === undefined ? MAX_DELTA_SECONDS : deltaSeconds(v);
        break;
      case "stale-while-revalidate":
        cc.staleWhileRevalidate ??= deltaSeconds(v);
        break;
      case "stale-if-error":
        cc.staleIfError ??= deltaSeconds(v);
        break;
      case "no-cache":
      case "private": {
        const key = name === "no-cache" ? "noCache" : "private";
        const list = v === undefined || v === "" ? null : fieldList(v);
        // An unqualified (or unreadable) directive is the stricter form; it wins over a list.
        if (list === null) cc[key] = true;
        else if (cc[key] !== true) cc[key] = [...((cc[key] as string[] | undefined) ?? []), ...list];
        break;
      }
      case "no-store":
        cc.noStore = true;
        break;
      case "public":
        cc.public = true;
        break;
      case "must-revalidate":
        cc.mustRevalidate = true;
        break;
      case "proxy-revalidate":
        cc.proxyRevalidate = true;
        break;
      case "immutable":
        cc.immutable = true;
        break;
      case "no-transform":
        cc.noTransform = true;
        break;
      case "only-if-cached":
        cc.onlyIfCached = true;
        break;
      case "must-understand":
        cc.mustUnderstand = true;
        break;
      default:
        break; // RFC 9111 §5.2.3: unknown extensions are ignored
    }
  }
  return cc;
}

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

/**
 * Parses an HTTP-date in any of the three RFC 9110 forms (IMF-fixdate, RFC 850, asctime) as
 * UTC. Returns milliseconds since the epoch, or null for anything else (including "0").
 */
export function parseHttpDate(value: string | null): number | null {
  if (value === null) return null;
  const v = value.trim();
  if (v.length > 64) return null;
  // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT ; RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
  let m = /^[A-Za-z]{3,9}, (\d{2})[ -]([A-Za-z]{3})[ -](\d{2}|\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/.exec(v);
  if (m === null) {
    // asctime: Sun Nov  6 08:49:37 1994
    const a = /^[A-Za-z]{3} ([A-Za-z]{3}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/.exec(v);
    if (a === null) return null;
    m = [a[0], a[2].trim(), a[1], a[6], a[3], a[4], a[5]] as unknown as RegExpExecArray;
  }
  const [, dd, mon, yy, hh, mi, ss] = m;
  const month = MONTHS.indexOf(mon.toLowerCase());
  if (month === -1) return null;
  let year = Number(yy);
  if (yy.length === 2) {
    // RFC 9110 §5.6.7: a two-digit year more than 50 years in the future is in the past century.
    const now = new Date().getUTCFullYear();
    year += 2000;
    if (year > now + 50) year -= 100;
  }
  const day = Number(dd);
  const hour = Number(hh);
  const minute = Number(mi);
  const second = Number(ss);
  if (day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return null;
  const t = Date.UTC(year, month, day, hour, minute, second);
  return Number.isFinite(t) ? t : null;
}

/** Formats an HTTP-date (IMF-fixdate). */
export function formatHttpDate(ms: number): string {
  return new Date(ms).toUTCString();
}
