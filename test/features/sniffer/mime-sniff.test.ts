import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  sniffMimeType,
  identifyUnknownMimeType,
  textOrBinary,
  feedOrHtml,
  matchAudioOrVideoType,
  matchFontType,
  parseMimeType,
  extractMimeType,
} from "../../../src/features/sniffer/index.js";
import {
  ARCHIVE_PATTERNS,
  AUDIO_VIDEO_PATTERNS,
  FONT_PATTERNS,
  IMAGE_PATTERNS,
  NON_SCRIPTABLE_PATTERNS,
  SCRIPTABLE_PATTERNS,
  type PatternRow,
} from "../../../src/features/sniffer/patterns.js";

const bytes = (...parts: Array<string | number[]>): Uint8Array =>
  Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "latin1") : Buffer.from(p))));

/** Bytes that match a row: masked-out bytes get a filler, case-folded bytes use lower case. */
function sample(r: PatternRow, { lower = false } = {}): Uint8Array {
  const out = r.pattern.map((b, i) => (r.mask[i] === 0x00 ? 0x41 : lower && r.mask[i] === 0xdf ? b | 0x20 : b));
  if (r.tagTerminated) out.push(0x3e);
  // Padding so that length checks of the algorithm never decide the outcome.
  return Uint8Array.from([...out, 0x20, 0x20, 0x20, 0x20]);
}

/** The same bytes with the first byte the mask looks at changed. */
function broken(r: PatternRow): Uint8Array {
  const s = sample(r);
  const i = r.mask.findIndex((m) => m === 0xff);
  s[i] ^= 0x01;
  return s;
}

describe("pattern tables, row by row", () => {
  for (const r of SCRIPTABLE_PATTERNS) {
    it(`unknown type, scriptable: ${r.note} → ${r.type}`, () => {
      assert.equal(identifyUnknownMimeType(sample(r), true), r.type);
      if (r.skipWhitespace) assert.equal(identifyUnknownMimeType(bytes(" \t\n\r\f", [...sample(r)]), true), r.type);
      if (r.mask.includes(0xdf)) assert.equal(identifyUnknownMimeType(sample(r, { lower: true }), true), r.type);
      // Without the sniff-scriptable flag these never match (privilege escalation).
      assert.notEqual(identifyUnknownMimeType(sample(r), false), r.type);
      assert.notEqual(identifyUnknownMimeType(broken(r), true), r.type);
    });
  }
  for (const r of SCRIPTABLE_PATTERNS.filter((x) => x.tagTerminated)) {
    it(`${r.note} needs a tag-terminating byte`, () => {
      const s = sample(r);
      assert.equal(identifyUnknownMimeType(s, true), "text/html");
      const noTT = Uint8Array.from([...r.pattern, 0x78, 0x20]);
      assert.equal(identifyUnknownMimeType(noTT, true), "text/plain");
      const withSpace = Uint8Array.from([...r.pattern, 0x20, 0x78]);
      assert.equal(identifyUnknownMimeType(withSpace, true), "text/html");
      // The header ends right after the pattern: no TT byte, no match.
      assert.equal(identifyUnknownMimeType(Uint8Array.from(r.pattern), true), "text/plain");
    });
  }
  for (const r of NON_SCRIPTABLE_PATTERNS) {
    it(`unknown type: ${r.note} → ${r.type}`, () => {
      assert.equal(identifyUnknownMimeType(sample(r), false), r.type);
      assert.equal(identifyUnknownMimeType(sample(r), true), r.type);
    });
  }
  const tables: Array<[string, readonly PatternRow[]]> = [
    ["image", IMAGE_PATTERNS],
    ["audio/video", AUDIO_VIDEO_PATTERNS],
    ["archive", ARCHIVE_PATTERNS],
  ];
  for (const [name, table] of tables) {
    for (const r of table) {
      it(`${name}: ${r.note} → ${r.type}`, () => {
        assert.equal(identifyUnknownMimeType(sample(r), false), r.type);
        assert.notEqual(identifyUnknownMimeType(broken(r), false), r.type);
      });
    }
  }
  for (const r of FONT_PATTERNS) {
    it(`font context: ${r.note} → ${r.type}`, () => {
      assert.equal(matchFontType(sample(r)), r.type);
      assert.equal(sniffMimeType(sample(r), null, { context: "font" }).contentType, r.type);
      assert.notEqual(matchFontType(broken(r)), r.type);
    });
  }
  it("fonts are not sniffed in a browsing context", () => {
    assert.equal(identifyUnknownMimeType(bytes("wOFF", [0, 1, 0, 0]), true), "application/octet-stream");
  });
});

describe("binary data bytes and text", () => {
  it("every binary data byte makes a header binary; the other control bytes do not", () => {
    const binary = new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 0x0b, ...Array.from({ length: 13 }, (_, i) => 0x0e + i), 0x1c, 0x1d, 0x1e, 0x1f]);
    for (let b = 0; b < 0x20; b++) {
      const seq = bytes("hello", [b], "world");
      assert.equal(identifyUnknownMimeType(seq, false), binary.has(b) ? "application/octet-stream" : "text/plain", `byte 0x${b.toString(16)}`);
    }
  });
  it("empty body is text/plain", () => {
    assert.equal(identifyUnknownMimeType(new Uint8Array(0), true), "text/plain");
  });
});

describe("MP4, WebM and MP3 signatures", () => {
  const mp4 = (major: string, brands: string[], size?: number) => {
    const body = bytes("ftyp", major, [0, 0, 0, 0], ...brands);
    const len = size ?? body.length + 4;
    return bytes([(len >>> 24) & 255, (len >>> 16) & 255, (len >>> 8) & 255, len & 255], [...body]);
  };
  it("mp4 major brand", () => assert.equal(matchAudioOrVideoType(mp4("mp42", [])), "video/mp4"));
  it("mp4 compatible brand", () => assert.equal(matchAudioOrVideoType(mp4("isom", ["iso2", "mp41"])), "video/mp4"));
  it("ftyp without an mp4 brand is not mp4", () => assert.equal(matchAudioOrVideoType(mp4("qt  ", ["qt  "])), undefined));
  it("box size larger than the data or not a multiple of 4 is rejected", () => {
    assert.equal(matchAudioOrVideoType(mp4("mp42", [], 400)), undefined);
    assert.equal(matchAudioOrVideoType(mp4("mp42", [], 18)), undefined);
  });
  it("short input is not mp4", () => assert.equal(matchAudioOrVideoType(bytes([0, 0, 0, 8], "ftypmp")), undefined));

  const ebml = (docType: string, pad = 0) =>
    bytes([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x80 | (docType.length + pad)], new Array(pad).fill(0), docType, "    ");
  it("webm DocType", () => assert.equal(matchAudioOrVideoType(ebml("webm")), "video/webm"));
  it("webm DocType padded with NULs", () => assert.equal(matchAudioOrVideoType(ebml("webm", 2)), "video/webm"));
  it("matroska is not webm", () => assert.equal(matchAudioOrVideoType(ebml("matroska")), undefined));
  it("EBML magic alone is not webm", () => assert.equal(matchAudioOrVideoType(bytes([0x1a, 0x45, 0xdf, 0xa3])), undefined));

  // MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, no padding: frames are 417 bytes.
  const frame = (pad = false) => {
    const f = Buffer.alloc(417 + (pad ? 1 : 0), 0x55);
    f[0] = 0xff;
    f[1] = 0xfb;
    f[2] = 0x90 | (pad ? 0x02 : 0);
    f[3] = 0x64;
    return f;
  };
  it("two MP3 frames one frame apart are audio/mpeg", () => {
    assert.equal(matchAudioOrVideoType(bytes([...frame()], [...frame()])), "audio/mpeg");
    assert.equal(sniffMimeType(bytes([...frame(true)], [...frame()]), null).contentType, "audio/mpeg");
  });
  it("a second frame header at the wrong place is not MP3", () => {
    assert.equal(matchAudioOrVideoType(bytes([...frame()], [0x00], [...frame()])), undefined);
  });
  it("a Layer I/II header is not MP3", () => {
    const a = frame();
    a[1] = 0xfd; // layer bits 10 = Layer II
    assert.equal(matchAudioOrVideoType(bytes([...a], [...frame()])), undefined);
  });
});

describe("sniffMimeType (§7)", () => {
  const html = bytes("<html><body>hi</body></html>");
  const png = bytes([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], "rest");
  const gif = bytes("GIF89a", [1, 2, 3]);

  it("no Content-Type: HTML is sniffed (scriptable)", () => {
    assert.deepEqual(sniffMimeType(html, null), { contentType: "text/html", params: {} });
  });
  it("unknown/unknown, application/unknown and */* are sniffed", () => {
    for (const t of ["unknown/unknown", "application/unknown", "*/*"]) assert.equal(sniffMimeType(html, t).contentType, "text/html");
  });
  it("nosniff with an unknown type: scriptable types are not sniffed", () => {
    assert.equal(sniffMimeType(html, null, { noSniff: true }).contentType, "text/plain");
    assert.equal(sniffMimeType(png, null, { noSniff: true }).contentType, "image/png");
  });
  it("nosniff keeps a supplied type", () => {
    assert.deepEqual(sniffMimeType(png, "text/plain; charset=UTF-8", { noSniff: true }), { contentType: "text/plain", params: { charset: "UTF-8" } });
    assert.equal(sniffMimeType(gif, "image/png", { noSniff: true }).contentType, "image/png");
  });
  it("Apache bug: binary sent as text/plain becomes application/octet-stream, text stays", () => {
    for (const t of ["text/plain", "text/plain; charset=ISO-8859-1", "text/plain; charset=iso-8859-1", "text/plain; charset=UTF-8"]) {
      assert.equal(sniffMimeType(png, t).contentType, "application/octet-stream", t);
      assert.equal(sniffMimeType(bytes("plain words"), t).contentType, "text/plain", t);
      // Never a scriptable type, even for HTML bytes.
      assert.equal(sniffMimeType(html, t).contentType, "text/plain", t);
    }
    assert.deepEqual(sniffMimeType(bytes("abc"), "text/plain; charset=UTF-8").params, { charset: "UTF-8" });
  });
  it("Apache bug check is byte-exact", () => {
    assert.equal(sniffMimeType(png, "text/plain;charset=UTF-8").contentType, "text/plain");
    assert.equal(sniffMimeType(png, "Text/Plain").contentType, "text/plain");
    assert.equal(sniffMimeType(png, "text/plain; charset=utf-8").contentType, "text/plain");
  });
  it("text or binary: BOMs are text", () => {
    assert.equal(textOrBinary(bytes([0xfe, 0xff, 0, 1])), "text/plain");
    assert.equal(textOrBinary(bytes([0xff, 0xfe, 0, 1])), "text/plain");
    assert.equal(textOrBinary(bytes([0xef, 0xbb, 0xbf, 0])), "text/plain");
    assert.equal(textOrBinary(bytes([0x00, 0x01])), "application/octet-stream");
  });
  it("XML types are left alone", () => {
    assert.equal(sniffMimeType(html, "application/xhtml+xml").contentType, "application/xhtml+xml");
    assert.equal(sniffMimeType(png, "text/xml").contentType, "text/xml");
    assert.equal(sniffMimeType(png, "application/xml").contentType, "application/xml");
  });
  it("text/html: feeds are found, HTML stays HTML", () => {
    assert.equal(sniffMimeType(bytes('<?xml version="1.0"?>\n<rss version="2.0">'), "text/html").contentType, "application/rss+xml");
    assert.equal(sniffMimeType(bytes("\xef\xbb\xbf<!-- c --><!DOCTYPE x><feed xmlns=x>"), "text/html").contentType, "application/atom+xml");
    assert.deepEqual(sniffMimeType(html, "text/html; charset=utf-8"), { contentType: "text/html", params: { charset: "utf-8" } });
    assert.equal(sniffMimeType(bytes("text <rss>"), "text/html").contentType, "text/html");
  });
  it("feed-or-HTML: RDF needs both namespaces", () => {
    const rdf = '<rdf:RDF xmlns="http://purl.org/rss/1.0/" xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">';
    assert.equal(feedOrHtml(bytes(rdf)), "application/rss+xml");
    const reversed = '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">';
    assert.equal(feedOrHtml(bytes(reversed)), "application/rss+xml");
    assert.equal(feedOrHtml(bytes('<rdf:RDF xmlns="http://purl.org/rss/1.0/">')), null);
    assert.equal(feedOrHtml(bytes("<!-- never closed")), null);
    assert.equal(feedOrHtml(bytes("   ")), null);
  });
  it("image types are corrected only to other image types", () => {
    assert.equal(sniffMimeType(gif, "image/png").contentType, "image/gif");
    assert.equal(sniffMimeType(html, "image/png").contentType, "image/png");
    assert.equal(sniffMimeType(png, "application/json").contentType, "application/json");
  });
  it("audio/video types are corrected by the audio/video table", () => {
    assert.equal(sniffMimeType(bytes("OggS", [0, 2]), "audio/mpeg").contentType, "application/ogg");
    assert.equal(sniffMimeType(bytes("ID3", [3, 0]), "application/ogg").contentType, "audio/mpeg");
    assert.equal(sniffMimeType(png, "video/mp4").contentType, "video/mp4");
  });
  it("only the first 1445 bytes are read", () => {
    const late = Buffer.concat([Buffer.alloc(1445, 0x61), Buffer.from([0x00])]);
    assert.equal(sniffMimeType(late, null).contentType, "text/plain");
    const early = Buffer.concat([Buffer.alloc(1444, 0x61), Buffer.from([0x00])]);
    assert.equal(sniffMimeType(early, null).contentType, "application/octet-stream");
  });
  it("an unparsable Content-Type counts as none", () => {
    assert.equal(sniffMimeType(html, "garbage").contentType, "text/html");
    assert.equal(sniffMimeType(html, "").contentType, "text/html");
  });
  it("image context", () => {
    assert.equal(sniffMimeType(png, "image/gif", { context: "image" }).contentType, "image/png");
    assert.equal(sniffMimeType(png, "image/svg+xml", { context: "image" }).contentType, "image/svg+xml");
  });
});

describe("MIME type parsing", () => {
  it("parses params, quotes and case", () => {
    assert.deepEqual(parseMimeType(' Text/HTML ; Charset="utf-8\\"x" ; a=b ;;c'), {
      essence: "text/html",
      type: "text",
      subtype: "html",
      params: Object.assign(Object.create(null), { charset: 'utf-8"x', a: "b" }),
    });
  });
  it("rejects junk", () => {
    for (const bad of ["", "text", "/html", "text/", "te xt/html", "text/ht ml"]) assert.equal(parseMimeType(bad), null, bad);
  });
  it("first param of a name wins; invalid names are dropped", () => {
    assert.deepEqual({ ...parseMimeType("a/b;x=1;x=2;b@d=3")!.params }, { x: "1" });
  });
  it("extract: last valid type wins and the charset carries over for the same essence", () => {
    assert.deepEqual({ ...extractMimeType("text/html;charset=gbk, text/html")!.params }, { charset: "gbk" });
    assert.equal(extractMimeType("text/plain, */*, bogus")!.essence, "text/plain");
    assert.equal(extractMimeType("text/plain, image/png")!.essence, "image/png");
  });
});
