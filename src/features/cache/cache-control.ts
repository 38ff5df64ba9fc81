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
const MONTH = "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)";
const DAY_NAME = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)";
const DAY_NAME_L = "(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)";
const TIME = "(\\d{2}):(\\d{2}):(\\d{2})";
// The three forms of RFC 9110 §5.6.7, exactly: IMF-fixdate, obsolete RFC 850 and asctime.
// Letter case is not significant (the cache-tests suite's "optimal" cases accept THU / AUG /
// gMT, as browsers do); everything else is: one space, four-digit years in IMF-fixdate,
// dashes and a two-digit year only in RFC 850 form with its long day name, two-digit hours.
const IMF_FIXDATE = new RegExp(`^${DAY_NAME}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`, "i");
const RFC850_DATE = new RegExp(`^${DAY_NAME_L}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`, "i");
// The Netscape cookie form (`Thu, 18-Aug-2050 02:01:18 GMT`): none of the three, but every
// browser reads it, the later cache-tests suite lists reusing it as conforming behaviour
// ("check", expected cached), and servers still send it. Four-digit years only.
const DASHED_DATE = new RegExp(`^${DAY_NAME}, (\\d{2})-${MONTH}-(\\d{4}) ${TIME} GMT$`, "i");
const ASCTIME_DATE = new RegExp(`^${DAY_NAME} ${MONTH} (\\d{2}| \\d) ${TIME} (\\d{4})$`, "i");

/**
 * Parses an HTTP-date in one of the three RFC 9110 forms (and the browsers' dashed form with
 * a four-digit year, `Thu, 18-Aug-2050 02:01:18 GMT`) as UTC. Returns milliseconds since the
 * epoch, or null for anything else, which RFC 9111 §5.3 tells a cache to read as "in the
 * past": "0", a two-digit year outside RFC 850 form (`Thu, 18 Aug 50 …`), `UTC` for `GMT`.
 */
export function parseHttpDate(value: string | null): number | null {
  if (value === null) return null;
  const v = value.trim();
  if (v.length > 64) return null;
  let dd: string, mon: string, yy: string, hh: string, mi: string, ss: string;
  let m = IMF_FIXDATE.exec(v) ?? RFC850_DATE.exec(v) ?? DASHED_DATE.exec(v);
  if (m !== null) [, dd, mon, yy, hh, mi, ss] = m;
  else {
    m = ASCTIME_DATE.exec(v);
    if (m === null) return null;
    [, mon, dd, hh, mi, ss, yy] = m;
  }
  const month = MONTHS.indexOf(mon.toLowerCase());
  let year = Number(yy);
  if (yy.length === 2) {
    // RFC 9110 §5.6.7: a two-digit year more than 50 years in the future is in the past century.
    const now = new Date().getUTCFullYear();
    year += 2000;
    if (year > now + 50) year -= 100;
  }
  const day = Number(dd.trim());
  const hour = Number(hh);
  const minute = Number(mi);
  const second = Number(ss);
  if (day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return null;
  const t = Date.UTC(year, month, day, hour, minute, second);
  // 31 Feb is not a date (Date.UTC would roll it into March).
  if (!Number.isFinite(t) || new Date(t).getUTCDate() !== day) return null;
  return t;
}

/**
 * RFC 9111 §5.1 Age: delta-seconds. "Although it is defined as a singleton header field, a
 * cache encountering a message with a list-based Age field value SHOULD use the first member
 * of the field value, discarding subsequent ones. If the field value (after discarding
 * additional members, as per above) is invalid (e.g., it contains something other than a
 * non-negative integer), a cache SHOULD ignore the field." So `7200, 0` (one line or two) is
 * 7200, and `7200.0`, `-1` or `abc` is no Age at all (0). Values past 2^31 are clamped
 * (§1.2.2). Pass `headers.get("Age")`, which joins repeated lines with ", ".
 */
export function parseAge(value: string | null): number {
  if (value === null) return 0;
  const comma = value.indexOf(",");
  const first = (comma === -1 ? value : value.slice(0, comma)).trim();
  if (!/^[0-9]+$/.test(first)) return 0;
  const n = Number(first);
  return n > MAX_DELTA_SECONDS ? MAX_DELTA_SECONDS : n;
}

/** Formats an HTTP-date (IMF-fixdate). */
export function formatHttpDate(ms: number): string {
  return new Date(ms).toUTCString();
}
