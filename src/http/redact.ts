/**
 * The one URL redaction of the package: what the Logger prints, what `String(msg)` and
 * `util.inspect(msg)` show and what error messages name all go through here, so a secret
 * that one of them hides cannot show through another. Userinfo is replaced, and the values
 * of secret-looking parameters in the query and the fragment (`access_token=…`,
 * `api_key=…`, OAuth's `#access_token=…`) become `[REDACTED]`.
 * Every function is linear in its input and never throws.
 */

/** Names of fields (query parameters, JSON and form fields) whose values are secrets. */
export const SECRET_FIELD = /pass(word)?|token|jwt|secret|api[-_]?key|apikey|session|credential|auth/i;

/** `decodeURIComponent` (with `+` as space) that returns its input when it is malformed. */
export function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, " "));
  } catch {
    return s;
  }
}

/**
 * `lead` + `a=1&access_token=x` → `lead` + `a=1&access_token=[REDACTED]`; names are
 * percent-decoded before the test. One pass that copies the unchanged stretches, so a
 * 100 KB query of empty parameters costs no array or string per parameter.
 */
function redactParams(lead: string, params: string): string {
  let out = lead;
  let copied = 0;
  let start = 0;
  // The next "=" is searched again only once `start` has passed it: a search per parameter
  // would rescan the rest for every "&" of a run without "=" (quadratic).
  let eq = -2;
  while (start <= params.length) {
    let end = params.indexOf("&", start);
    if (end === -1) end = params.length;
    if (eq !== -1 && eq < start) eq = params.indexOf("=", start);
    if (eq !== -1 && eq < end && eq > start) {
      const raw = params.slice(start, eq);
      const name = raw.includes("%") || raw.includes("+") ? decodeSafe(raw) : raw;
      if (SECRET_FIELD.test(name)) {
        out += `${params.slice(copied, eq + 1)}[REDACTED]`;
        copied = end;
      }
    }
    start = end + 1;
  }
  return out + params.slice(copied);
}

/** `?access_token=abc&page=2` → `?access_token=[REDACTED]&page=2` (secret-looking names only). */
export function redactQuery(search: string): string {
  if (search.length <= 1) return search;
  return redactParams("?", search.slice(1));
}

/** The request target as it may be shown: the path and the redacted query. */
export function redactTarget(url: URL): string {
  return `${url.pathname}${redactQuery(url.search)}`;
}

/**
 * The URL for logs, errors, `toString()` and `util.inspect`: userinfo replaced by
 * `REDACTED`, secret query and fragment parameter values replaced by `[REDACTED]`.
 */
export function redactUrl(url: URL): string {
  const userinfo = url.username === "" && url.password === "" ? "" : "REDACTED@";
  const hash = url.hash.length <= 1 ? url.hash : redactParams("#", url.hash.slice(1));
  return `${url.protocol}//${userinfo}${url.host}${redactTarget(url)}${hash}`;
}
