/**
 * The three audio/video signatures of WHATWG MIME Sniffing §6.2.1 that are algorithms, not
 * table rows: MP4 (ftyp box), WebM (EBML DocType) and MP3 without an ID3 tag (two frame
 * headers one computed frame apart).
 *
 * Where the standard's prose is self-contradictory we follow what browsers ship (Firefox's
 * nsMediaSniffer/mp3sniff.c, Chromium's mime_sniffer), and say so at the line:
 *  - WebM: "if iter is less than length - 4, abort" would reject almost every real file;
 *    the intent (and every implementation) is "greater than or equal".
 *  - MP3: the header check's "and" must be "or", the layer is `(b1 & 0x06) >> 1` (operator
 *    precedence) and must be Layer III, the size check is `length - s` (not `s - length`),
 *    the bit-rate table is chosen by MPEG-1 vs MPEG-2/2.5, and the sample rate is halved
 *    (MPEG-2) or quartered (MPEG-2.5) as the MPEG audio header defines.
 */

/** §6.2.1 "matches the signature for MP4". */
export function matchesMp4(seq: Uint8Array): boolean {
  const length = seq.length;
  if (length < 12) return false;
  const boxSize = ((seq[0] << 24) >>> 0) + (seq[1] << 16) + (seq[2] << 8) + seq[3];
  if (length < boxSize || boxSize % 4 !== 0) return false;
  if (seq[4] !== 0x66 || seq[5] !== 0x74 || seq[6] !== 0x79 || seq[7] !== 0x70) return false; // "ftyp"
  const isMp4 = (i: number) => i + 2 < length && seq[i] === 0x6d && seq[i + 1] === 0x70 && seq[i + 2] === 0x34;
  if (isMp4(8)) return true; // major brand
  // Skip the major brand's version (bytes 12-15), then scan the compatible brands.
  for (let bytesRead = 16; bytesRead < boxSize; bytesRead += 4) if (isMp4(bytesRead)) return true;
  return false;
}

/** §6.2.1 "parse a vint": only the number size is used by the WebM check. */
function vintSize(seq: Uint8Array, index: number): number {
  let mask = 128;
  const maxVintLength = 8;
  let numberSize = 1;
  while (numberSize < maxVintLength && numberSize < seq.length - index) {
    if ((seq[index] & mask) !== 0) break;
    mask >>= 1;
    numberSize++;
  }
  return numberSize;
}

/** "Matching a padded sequence": the pattern at offset, optionally preceded by 0x00 bytes. */
function matchesPaddedSequence(seq: Uint8Array, pattern: readonly number[], offset: number, end: number): boolean {
  let s = offset;
  while (s < end && seq[s] === 0x00) s++;
  if (s + pattern.length > end) return false;
  for (let p = 0; p < pattern.length; p++) if (seq[s + p] !== pattern[p]) return false;
  return true;
}

const WEBM = [0x77, 0x65, 0x62, 0x6d];

/** §6.2.1 "matches the signature for WebM": EBML header whose DocType (0x4282) is "webm". */
export function matchesWebm(seq: Uint8Array): boolean {
  const length = seq.length;
  if (length < 4) return false;
  if (seq[0] !== 0x1a || seq[1] !== 0x45 || seq[2] !== 0xdf || seq[3] !== 0xa3) return false;
  let iter = 4;
  while (iter < length && iter < 38) {
    if (seq[iter] === 0x42 && seq[iter + 1] === 0x82) {
      iter += 2;
      if (iter >= length) return false;
      iter += vintSize(seq, iter);
      if (iter >= length - 4) return false; // the standard's "less than" is an erratum (see top)
      return matchesPaddedSequence(seq, WEBM, iter, length);
    }
    iter++;
  }
  return false;
}

const MP3_RATES = [0, 32000, 40000, 48000, 56000, 64000, 80000, 96000, 112000, 128000, 160000, 192000, 224000, 256000, 320000];
const MP25_RATES = [0, 8000, 16000, 24000, 32000, 40000, 48000, 56000, 64000, 80000, 96000, 112000, 128000, 144000, 160000];
const SAMPLE_RATES = [44100, 48000, 32000];

/** "match an mp3 header" at offset s: frame sync, a valid Layer III header. */
function matchMp3Header(seq: Uint8Array, s: number): boolean {
  if (seq.length - s < 4) return false;
  if (seq[s] !== 0xff || (seq[s + 1] & 0xe0) !== 0xe0) return false;
  const layer = (seq[s + 1] & 0x06) >> 1;
  if (layer === 0) return false;
  const bitRate = (seq[s + 2] & 0xf0) >> 4;
  if (bitRate === 15) return false;
  const sampleRate = (seq[s + 2] & 0x0c) >> 2;
  if (sampleRate === 3) return false;
  // Layer bits 01 are Layer III ("final layer" 4 - 1 = 3).
  return 4 - layer === 3;
}

/** "parse an mp3 frame" + "compute an mp3 frame size". */
function mp3FrameSize(seq: Uint8Array, s: number): number {
  const version = (seq[s + 1] & 0x18) >> 3; // 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
  const bitrateIndex = (seq[s + 2] & 0xf0) >> 4;
  const bitrate = (version & 0x01) !== 0 ? MP3_RATES[bitrateIndex] : MP25_RATES[bitrateIndex];
  let freq = SAMPLE_RATES[(seq[s + 2] & 0x0c) >> 2];
  if (version === 2) freq >>= 1;
  else if (version === 0) freq >>= 2;
  const pad = (seq[s + 2] & 0x02) >> 1;
  const scale = version === 3 ? 144 : 72;
  let size = Math.floor((bitrate * scale) / freq);
  if (pad !== 0) size += 1;
  return size;
}

/** §6.2.1 "matches the signature for MP3 without ID3". */
export function matchesMp3WithoutId3(seq: Uint8Array): boolean {
  const length = seq.length;
  let s = 0;
  if (!matchMp3Header(seq, s)) return false;
  const skipped = mp3FrameSize(seq, s);
  if (skipped < 4 || skipped > length - s) return false;
  s += skipped;
  return matchMp3Header(seq, s);
}
