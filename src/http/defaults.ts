/**
 * Header defaults that libsoup derives for a session: User-Agent and Accept-Language.
 */
import { VERSION } from "../version.js";

export const DEFAULT_USER_AGENT = `sessionkit/${VERSION}`;

/**
 * libsoup's rule: "" means the default product token; a value ending in a space gets the
 * default appended; null sends no User-Agent at all.
 */
export function resolveUserAgent(value: string | null | undefined): string | null {
  if (value === null) return null;
  if (value === undefined || value === "") return DEFAULT_USER_AGENT;
  if (value.endsWith(" ")) return value + DEFAULT_USER_AGENT;
  return value;
}

/**
 * Accept-Language from the process locale, as libsoup builds it from the system's language
 * names: LANGUAGE (a colon list), else LC_ALL / LC_MESSAGES / LANG, else the ICU locale.
 * "en_US.UTF-8" → "en-us, en;q=0.9"; C/POSIX are dropped; nothing left → "en".
 */
export function acceptLanguageFromLocale(environment: NodeJS.ProcessEnv = process.env): string {
  const raw: string[] = [];
  const language = environment.LANGUAGE;
  const locale = environment.LC_ALL || environment.LC_MESSAGES || environment.LANG;
  if (language) raw.push(...language.split(":"));
  if (locale) raw.push(locale);
  if (raw.length === 0) {
    try {
      raw.push(Intl.DateTimeFormat().resolvedOptions().locale);
    } catch {
      /* no ICU: fall through to "en" */
    }
  }
  const tags: string[] = [];
  const add = (t: string) => {
    if (t && !tags.includes(t)) tags.push(t);
  };
  for (const entry of raw) {
    const base = entry.split(".")[0].split("@")[0].trim();
    if (base === "" || base === "C" || base === "POSIX") continue;
    const tag = base.replace(/_/g, "-").toLowerCase();
    if (!/^[a-z]{1,8}(-[a-z0-9]{1,8})*$/.test(tag)) continue;
    add(tag);
  }
  // Each region tag is followed by its bare language, as libsoup does.
  const withBases: string[] = [];
  for (const t of tags) {
    if (!withBases.includes(t)) withBases.push(t);
    const lang = t.split("-")[0];
    if (lang !== t && !tags.includes(lang) && !withBases.includes(lang)) withBases.push(lang);
  }
  if (withBases.length === 0) return "en";
  // libsoup's quality values: 1 (implicit), then down by 0.1 per entry (0.05 from 10
  // entries, 0.01 from 20), printed as "0.9", "0.85", … (soup-session.c add_quality_value).
  const delta = withBases.length < 10 ? 10 : withBases.length < 20 ? 5 : 1;
  return withBases
    .map((t, i) => {
      const quality = 100 - i * delta;
      if (i === 0 || quality <= 0) return i === 0 ? t : `${t};q=0.01`;
      const q = quality % 10 !== 0 ? `0.${String(quality).padStart(2, "0")}` : `0.${quality / 10}`;
      return `${t};q=${q}`;
    })
    .join(", ");
}
