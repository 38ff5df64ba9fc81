/**
 * The byte-pattern tables of the WHATWG MIME Sniffing Standard (§6 and §7.1), as data, and
 * the "pattern matching algorithm" (§5) that reads them. Each row is written exactly as the
 * standard's table: pattern bytes, mask bytes, whether leading whitespace bytes are ignored,
 * and the type it yields. `tagTerminated` stands for the standard's trailing "TT" byte.
 */

export interface PatternRow {
  pattern: readonly number[];
  mask: readonly number[];
  /** Leading whitespace bytes (0x09 0x0A 0x0C 0x0D 0x20) are skipped before matching. */
  skipWhitespace: boolean;
  /** The standard's "TT": the pattern must be followed by 0x20 or 0x3E. */
  tagTerminated: boolean;
  type: string;
  note: string;
}

const hex = (s: string): number[] =>
  s
    .split(" ")
    .filter(Boolean)
    .map((b) => parseInt(b, 16));

function row(pattern: string, mask: string, type: string, note: string, opts: { ws?: boolean; tt?: boolean } = {}): PatternRow {
  const p = hex(pattern);
  const m = hex(mask);
  if (p.length !== m.length) throw new Error(`pattern/mask length mismatch for ${note}`);
  return { pattern: p, mask: m, skipWhitespace: opts.ws ?? false, tagTerminated: opts.tt ?? false, type, note };
}

const html = (pattern: string, mask: string, note: string) => row(pattern, mask, "text/html", note, { ws: true, tt: true });

/** §7.1 step 1: only consulted when the sniff-scriptable flag is set. */
export const SCRIPTABLE_PATTERNS: readonly PatternRow[] = [
  html("3C 21 44 4F 43 54 59 50 45 20 48 54 4D 4C", "FF FF DF DF DF DF DF DF DF FF DF DF DF DF", "<!DOCTYPE HTML"),
  html("3C 48 54 4D 4C", "FF DF DF DF DF", "<HTML"),
  html("3C 48 45 41 44", "FF DF DF DF DF", "<HEAD"),
  html("3C 53 43 52 49 50 54", "FF DF DF DF DF DF DF", "<SCRIPT"),
  html("3C 49 46 52 41 4D 45", "FF DF DF DF DF DF DF", "<IFRAME"),
  html("3C 48 31", "FF DF FF", "<H1"),
  html("3C 44 49 56", "FF DF DF DF", "<DIV"),
  html("3C 46 4F 4E 54", "FF DF DF DF DF", "<FONT"),
  html("3C 54 41 42 4C 45", "FF DF DF DF DF DF", "<TABLE"),
  html("3C 41", "FF DF", "<A"),
  html("3C 53 54 59 4C 45", "FF DF DF DF DF DF", "<STYLE"),
  html("3C 54 49 54 4C 45", "FF DF DF DF DF DF", "<TITLE"),
  html("3C 42", "FF DF", "<B"),
  html("3C 42 4F 44 59", "FF DF DF DF DF", "<BODY"),
  html("3C 42 52", "FF DF DF", "<BR"),
  html("3C 50", "FF DF", "<P"),
  html("3C 21 2D 2D", "FF FF FF FF", "<!--"),
  row("3C 3F 78 6D 6C", "FF FF FF FF FF", "text/xml", "<?xml", { ws: true }),
  row("25 50 44 46 2D", "FF FF FF FF FF", "application/pdf", "%PDF-"),
];

/** §7.1 step 2: always consulted. */
export const NON_SCRIPTABLE_PATTERNS: readonly PatternRow[] = [
  row("25 21 50 53 2D 41 64 6F 62 65 2D", "FF FF FF FF FF FF FF FF FF FF FF", "application/postscript", "%!PS-Adobe-"),
  row("FE FF 00 00", "FF FF 00 00", "text/plain", "UTF-16BE BOM"),
  row("FF FE 00 00", "FF FF 00 00", "text/plain", "UTF-16LE BOM"),
  row("EF BB BF 00", "FF FF FF 00", "text/plain", "UTF-8 BOM"),
];

/** §6.1 image type pattern matching. */
export const IMAGE_PATTERNS: readonly PatternRow[] = [
  row("00 00 01 00", "FF FF FF FF", "image/x-icon", "Windows Icon"),
  row("00 00 02 00", "FF FF FF FF", "image/x-icon", "Windows Cursor"),
  row("42 4D", "FF FF", "image/bmp", "BM"),
  row("47 49 46 38 37 61", "FF FF FF FF FF FF", "image/gif", "GIF87a"),
  row("47 49 46 38 39 61", "FF FF FF FF FF FF", "image/gif", "GIF89a"),
  row("52 49 46 46 00 00 00 00 57 45 42 50 56 50", "FF FF FF FF 00 00 00 00 FF FF FF FF FF FF", "image/webp", "RIFF....WEBPVP"),
  row("89 50 4E 47 0D 0A 1A 0A", "FF FF FF FF FF FF FF FF", "image/png", "PNG"),
  row("FF D8 FF", "FF FF FF", "image/jpeg", "JPEG SOI"),
];

/** §6.2 audio or video type pattern matching (the table part; MP4/WebM/MP3 are in code). */
export const AUDIO_VIDEO_PATTERNS: readonly PatternRow[] = [
  row("2E 73 6E 64", "FF FF FF FF", "audio/basic", ".snd"),
  row("46 4F 52 4D 00 00 00 00 41 49 46 46", "FF FF FF FF 00 00 00 00 FF FF FF FF", "audio/aiff", "FORM....AIFF"),
  row("49 44 33", "FF FF FF", "audio/mpeg", "ID3"),
  row("4F 67 67 53 00", "FF FF FF FF FF", "application/ogg", "OggS NUL"),
  row("4D 54 68 64 00 00 00 06", "FF FF FF FF FF FF FF FF", "audio/midi", "MThd"),
  row("52 49 46 46 00 00 00 00 41 56 49 20", "FF FF FF FF 00 00 00 00 FF FF FF FF", "video/avi", "RIFF....AVI "),
  row("52 49 46 46 00 00 00 00 57 41 56 45", "FF FF FF FF 00 00 00 00 FF FF FF FF", "audio/wave", "RIFF....WAVE"),
];

/**
 * §6.3 font type pattern matching. The standard leaves the TrueType, OpenType and TrueType
 * Collection rows without a type (marked XXX); we use the IANA `font/*` types registered
 * since (RFC 8081) so that the rows are usable. The wOFF row keeps the standard's type.
 */
export const FONT_PATTERNS: readonly PatternRow[] = [
  row(
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 4C 50",
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 FF FF",
    "application/vnd.ms-fontobject",
    "34 bytes then LP (EOT)",
  ),
  row("00 01 00 00", "FF FF FF FF", "font/ttf", "TrueType 1.0"),
  row("4F 54 54 4F", "FF FF FF FF", "font/otf", "OTTO"),
  row("74 74 63 66", "FF FF FF FF", "font/collection", "ttcf"),
  row("77 4F 46 46", "FF FF FF FF", "application/font-woff", "wOFF"),
  // Not in the standard's table (it predates WOFF 2.0); an allowed extension for a new type.
  row("77 4F 46 32", "FF FF FF FF", "font/woff2", "wOF2"),
];

/** §6.4 archive type pattern matching. */
export const ARCHIVE_PATTERNS: readonly PatternRow[] = [
  row("1F 8B 08", "FF FF FF", "application/x-gzip", "GZIP"),
  row("50 4B 03 04", "FF FF FF FF", "application/zip", "PK ETX EOT"),
  row("52 61 72 20 1A 07 00", "FF FF FF FF FF FF FF", "application/x-rar-compressed", "Rar SUB BEL NUL"),
];

export function isWhitespaceByte(b: number): boolean {
  return b === 0x09 || b === 0x0a || b === 0x0c || b === 0x0d || b === 0x20;
}

export function isTagTerminatingByte(b: number): boolean {
  return b === 0x20 || b === 0x3e;
}

/** A binary data byte (§3): 0x00-0x08, 0x0B, 0x0E-0x1A, 0x1C-0x1F. */
export function isBinaryDataByte(b: number): boolean {
  return b <= 0x08 || b === 0x0b || (b >= 0x0e && b <= 0x1a) || (b >= 0x1c && b <= 0x1f);
}

/** §5 pattern matching algorithm, plus the trailing tag-terminating byte when the row has one. */
export function matchesPattern(seq: Uint8Array, r: PatternRow): boolean {
  const { pattern, mask } = r;
  if (seq.length < pattern.length) return false;
  let s = 0;
  if (r.skipWhitespace) while (s < seq.length && isWhitespaceByte(seq[s])) s++;
  if (s >= seq.length) return false;
  for (let p = 0; p < pattern.length; p++, s++) {
    if (s >= seq.length) return false;
    if ((seq[s] & mask[p]) !== pattern[p]) return false;
  }
  if (r.tagTerminated) return s < seq.length && isTagTerminatingByte(seq[s]);
  return true;
}

/** Runs the rows in order and returns the first match's type, or undefined. */
export function matchTable(seq: Uint8Array, table: readonly PatternRow[]): string | undefined {
  for (const r of table) if (matchesPattern(seq, r)) return r.type;
  return undefined;
}
