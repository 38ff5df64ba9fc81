/** ContentSniffer and the WHATWG MIME Sniffing algorithm it runs. */
export { ContentSniffer, hasNoSniff } from "./content-sniffer.js";
export type { ContentSnifferOptions } from "./content-sniffer.js";
export {
  sniffMimeType,
  identifyUnknownMimeType,
  textOrBinary,
  feedOrHtml,
  matchImageType,
  matchAudioOrVideoType,
  matchFontType,
  matchArchiveType,
  RESOURCE_HEADER_SIZE,
  APACHE_BUG_TYPES,
} from "./mime-sniff.js";
export type { SniffResult, SniffOptions, SniffContext } from "./mime-sniff.js";
export { parseMimeType, extractMimeType, serializeMimeType } from "./mime-type.js";
export type { ParsedMimeType } from "./mime-type.js";
