/**
 * HTTPie's request items:
 *
 *   Header:Value    a request header (`Header:` sends it empty, `Header;` too)
 *   name==value     a query parameter
 *   field=value     a string field of the JSON (or, with --form, form) body
 *   field:=json     a raw JSON value (`n:=3`, `tags:='["a"]'`)
 *   field=@file     a string field read from a file;  field:=@file  raw JSON from a file
 *   field@file      a file upload (multipart/form-data)
 *
 * The separator that starts earliest wins, the longest one at that place (`a:=b` is JSON,
 * not the header `a` with value `=b`); a backslash escapes a separator character.
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { UsageError } from "./errors.js";

export type ItemKind = "header" | "empty-header" | "query" | "data" | "json" | "data-file" | "json-file" | "file";

export interface Item {
  kind: ItemKind;
  key: string;
  value: string;
}

// Longest first at each starting character.
const SEPARATORS: ReadonlyArray<[string, ItemKind]> = [
  [":=@", "json-file"],
  [":=", "json"],
  [":", "header"],
  ["==", "query"],
  ["=@", "data-file"],
  ["=", "data"],
  ["@", "file"],
  [";", "empty-header"],
];

export function parseItem(arg: string): Item | null {
  let key = "";
  for (let i = 0; i < arg.length; i++) {
    const ch = arg[i];
    if (ch === "\\" && i + 1 < arg.length) {
      key += arg[++i];
      continue;
    }
    for (const [sep, kind] of SEPARATORS) {
      if (!arg.startsWith(sep, i)) continue;
      const value = unescape(arg.slice(i + sep.length));
      if (kind === "empty-header") {
        if (value !== "") continue; // `a;b` is not an item
        return { kind, key, value: "" };
      }
      return { kind, key, value };
    }
    key += ch;
  }
  return null;
}

function unescape(s: string): string {
  return s.replace(/\\(.)/g, "$1");
}

export interface BuiltRequest {
  headers: Array<[string, string]>;
  query: Array<[string, string]>;
  body: { contentType: string; bytes: Uint8Array } | null;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Turns items into headers, query and a body (JSON by default, form with `form`). */
export async function buildRequest(items: Item[], opts: { form: boolean }): Promise<BuiltRequest> {
  const headers: Array<[string, string]> = [];
  const query: Array<[string, string]> = [];
  const fields: Array<[string, Json]> = [];
  const files: Array<[string, string]> = [];
  let rawJson = false;
  for (const it of items) {
    switch (it.kind) {
      case "header":
      case "empty-header":
        if (it.key === "" || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(it.key))
          throw new UsageError(`invalid header name in item ${JSON.stringify(it.key)}`);
        if (it.kind === "header" && it.value === "") break; // `Header:` unsets a default, as in HTTPie
        headers.push([it.key, it.value]);
        break;
      case "query":
        query.push([it.key, it.value]);
        break;
      case "data":
        fields.push([it.key, it.value]);
        break;
      case "data-file":
        fields.push([it.key, readText(it.value)]);
        break;
      case "json":
      case "json-file": {
        rawJson = true;
        const text = it.kind === "json" ? it.value : readText(it.value);
        try {
          fields.push([it.key, JSON.parse(text) as Json]);
        } catch {
          throw new UsageError(`item ${JSON.stringify(it.key)}: not valid JSON`);
        }
        break;
      }
      case "file":
        files.push([it.key, it.value]);
        break;
    }
  }
  if (opts.form && rawJson) throw new UsageError("raw JSON items (:=) cannot go in a form: drop --form or use field=value");

  let body: BuiltRequest["body"] = null;
  if (files.length > 0) body = await multipart(fields, files);
  else if (fields.length > 0 && opts.form) {
    const params = new URLSearchParams();
    for (const [k, v] of fields) params.append(k, String(v));
    body = { contentType: "application/x-www-form-urlencoded; charset=utf-8", bytes: Buffer.from(params.toString()) };
  } else if (fields.length > 0) {
    const obj: Record<string, Json> = {};
    for (const [k, v] of fields) obj[k] = v;
    body = { contentType: "application/json", bytes: Buffer.from(JSON.stringify(obj)) };
  }
  return { headers, query, body };
}

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new UsageError(`cannot read ${JSON.stringify(path)}: ${(err as NodeJS.ErrnoException).code ?? "error"}`);
  }
}

/**
 * multipart/form-data through the platform's own encoder (FormData serialised by a
 * Request), so boundaries and escaping are the standard ones.
 */
async function multipart(fields: Array<[string, Json]>, files: Array<[string, string]>): Promise<NonNullable<BuiltRequest["body"]>> {
  const form = new FormData();
  for (const [k, v] of fields) form.append(k, typeof v === "string" ? v : JSON.stringify(v));
  for (const [k, path] of files) {
    let data: Buffer;
    try {
      data = readFileSync(path);
    } catch (err) {
      throw new UsageError(`cannot read ${JSON.stringify(path)}: ${(err as NodeJS.ErrnoException).code ?? "error"}`);
    }
    form.append(k, new Blob([new Uint8Array(data)], { type: guessType(path) }), basename(path));
  }
  const req = new Request("http://localhost/", { method: "POST", body: form });
  return { contentType: req.headers.get("content-type")!, bytes: new Uint8Array(await req.arrayBuffer()) };
}

const TYPES: Record<string, string> = {
  json: "application/json",
  txt: "text/plain",
  html: "text/html",
  csv: "text/csv",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  pdf: "application/pdf",
  fits: "image/fits",
};

function guessType(path: string): string {
  const ext = /\.([A-Za-z0-9]+)$/.exec(path)?.[1]?.toLowerCase();
  return (ext && TYPES[ext]) || "application/octet-stream";
}
