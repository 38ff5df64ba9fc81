/**
 * Diffusion's session property filter language: parse a filter string once into a
 * predicate over session properties.
 *
 *   filter  := or EOF
 *   or      := and  (OR and)*
 *   and     := not  (AND not)*
 *   not     := NOT not | primary
 *   primary := '(' or ')' | ALL | HAS key | key (IS | EQ | NE) string | key IN list
 *   list    := '[' string ((',')? string)* ']'
 *
 * Keywords are case-insensitive; keys are case-sensitive (`$Principal`, `Department`);
 * strings are in single or double quotes, where a backslash makes the next character
 * literal (`'O\'Brien'`, `"a \"b\" c"`, `'back\\slash'`). `and` binds tighter than `or`.
 * `ne` is the exact negation of `is`: a session without the property matches
 * `Department ne 'x'`. A word that Diffusion uses as a keyword can still be a key when it
 * is followed by a comparison (`not is 'x'` compares the property "not").
 *
 * The lexer is a single pass over the characters (no regular expressions on the input),
 * the parser is recursive descent with a bounded nesting depth, and `and` / `or` chains
 * are flat lists, so neither parsing nor evaluation can blow the stack or take more than
 * linear time. Mistakes are `InvalidFilterError`s (code `INVALID_FILTER`) with the
 * 0-based character position of the problem.
 */
import { SessionKitError } from "../errors.js";
import type { SessionProperties } from "./properties.js";

/** A compiled filter: true when a session with these properties matches. */
export type FilterPredicate = (properties: Readonly<SessionProperties>) => boolean;

/** Longest filter string accepted (characters). */
export const MAX_FILTER_LENGTH = 16_384;
/** Deepest nesting of parentheses and `not` accepted. */
export const MAX_FILTER_DEPTH = 64;

/** A filter string that does not parse (`INVALID_FILTER`). */
export class InvalidFilterError extends SessionKitError {
  /** The filter as given. */
  readonly filter: string;
  /** 0-based character offset of the problem in `filter`. */
  readonly position: number;
  constructor(filter: string, position: number, problem: string) {
    super("INVALID_FILTER", `Invalid session filter at position ${position}: ${problem}${excerpt(filter, position)}`);
    this.filter = filter;
    this.position = position;
  }
}

/** `near "…"` with a few characters around the position, for the error message. */
function excerpt(filter: string, position: number): string {
  if (filter.length === 0) return "";
  const start = Math.max(0, position - 20);
  const end = Math.min(filter.length, position + 20);
  const text = (start > 0 ? "…" : "") + filter.slice(start, end) + (end < filter.length ? "…" : "");
  return ` (near ${JSON.stringify(text)})`;
}

/** The parsed form of a filter. */
export type FilterNode =
  | { op: "all" }
  | { op: "has"; key: string }
  | { op: "eq" | "ne"; key: string; value: string }
  | { op: "in"; key: string; values: string[] }
  | { op: "not"; expr: FilterNode }
  | { op: "and" | "or"; exprs: FilterNode[] };

type Token =
  | { kind: "word"; text: string; lower: string; pos: number }
  | { kind: "string"; text: string; pos: number }
  | { kind: "(" | ")" | "[" | "]" | "," | "eof"; pos: number };

function isSpace(c: number): boolean {
  // space, \t \n \v \f \r, NBSP and the other characters String.prototype.trim removes
  return (
    c === 32 ||
    (c >= 9 && c <= 13) ||
    c === 0xa0 ||
    c === 0xfeff ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000
  );
}

const PUNCTUATION = new Set(["(", ")", "[", "]", ","]);

function tokenize(filter: string): Token[] {
  const tokens: Token[] = [];
  const n = filter.length;
  let i = 0;
  while (i < n) {
    const c = filter.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    const ch = filter[i]!;
    if (PUNCTUATION.has(ch)) {
      tokens.push({ kind: ch as "(" | ")" | "[" | "]" | ",", pos: i });
      i++;
      continue;
    }
    if (ch === "'" || ch === '"') {
      const start = i;
      let text = "";
      let chunk = ++i;
      for (;;) {
        if (i >= n) throw new InvalidFilterError(filter, start, "unterminated string");
        const d = filter[i]!;
        if (d === ch) break;
        if (d === "\\") {
          if (i + 1 >= n) throw new InvalidFilterError(filter, i, "a backslash at the end of the filter escapes nothing");
          text += filter.slice(chunk, i) + filter[i + 1];
          i += 2;
          chunk = i;
          continue;
        }
        i++;
      }
      text += filter.slice(chunk, i);
      i++; // closing quote
      tokens.push({ kind: "string", text, pos: start });
      continue;
    }
    const start = i;
    while (i < n) {
      const d = filter[i]!;
      if (isSpace(filter.charCodeAt(i)) || PUNCTUATION.has(d) || d === "'" || d === '"') break;
      i++;
    }
    const text = filter.slice(start, i);
    tokens.push({ kind: "word", text, lower: text.toLowerCase(), pos: start });
  }
  tokens.push({ kind: "eof", pos: n });
  return tokens;
}

const COMPARISONS = new Set(["is", "eq", "ne", "in"]);
const RESERVED = new Set(["and", "or", "not", "is", "eq", "ne", "in", "has", "all", "hasroles"]);

class Parser {
  readonly #filter: string;
  readonly #tokens: Token[];
  #i = 0;
  #depth = 0;

  constructor(filter: string) {
    this.#filter = filter;
    this.#tokens = tokenize(filter);
  }

  parse(): FilterNode {
    if (this.#peek().kind === "eof") throw this.#error(this.#peek(), "the filter is empty (use 'all' to match every session)");
    const node = this.#or();
    const t = this.#peek();
    if (t.kind !== "eof") {
      throw this.#error(t, t.kind === ")" ? "unbalanced ')'" : `expected 'and', 'or' or the end of the filter, found ${describe(t)}`);
    }
    return node;
  }

  #peek(offset = 0): Token {
    return this.#tokens[Math.min(this.#i + offset, this.#tokens.length - 1)]!;
  }

  #next(): Token {
    const t = this.#tokens[this.#i]!;
    if (t.kind !== "eof") this.#i++;
    return t;
  }

  #error(t: Token, problem: string): InvalidFilterError {
    return new InvalidFilterError(this.#filter, t.pos, problem);
  }

  #isWord(t: Token, lower: string): boolean {
    return t.kind === "word" && t.lower === lower;
  }

  #or(): FilterNode {
    const exprs = [this.#and()];
    while (this.#isWord(this.#peek(), "or")) {
      this.#next();
      exprs.push(this.#and());
    }
    return exprs.length === 1 ? exprs[0]! : { op: "or", exprs };
  }

  #and(): FilterNode {
    const exprs = [this.#not()];
    while (this.#isWord(this.#peek(), "and")) {
      this.#next();
      exprs.push(this.#not());
    }
    return exprs.length === 1 ? exprs[0]! : { op: "and", exprs };
  }

  #enter(t: Token): void {
    if (++this.#depth > MAX_FILTER_DEPTH) throw this.#error(t, `nesting deeper than ${MAX_FILTER_DEPTH} levels`);
  }

  #not(): FilterNode {
    const t = this.#peek();
    if (this.#isWord(t, "not") && !this.#startsComparison()) {
      this.#next();
      this.#enter(t);
      const expr = this.#not();
      this.#depth--;
      return { op: "not", expr };
    }
    return this.#primary();
  }

  /** The current word is a key followed by a comparison (so not a keyword). */
  #startsComparison(): boolean {
    const op = this.#peek(1);
    if (op.kind !== "word" || !COMPARISONS.has(op.lower)) return false;
    const operand = this.#peek(2);
    return op.lower === "in" ? operand.kind === "[" : operand.kind === "string";
  }

  #primary(): FilterNode {
    const comparison = this.#peek().kind === "word" && this.#startsComparison();
    const t = this.#next();
    if (t.kind === "(") {
      this.#enter(t);
      const inner = this.#or();
      this.#depth--;
      const close = this.#next();
      if (close.kind !== ")") throw this.#error(close, `expected ')' to close the '(' at position ${t.pos}, found ${describe(close)}`);
      return inner;
    }
    if (t.kind !== "word") throw this.#error(t, `expected a clause (key comparison, 'has', 'all', 'not' or '('), found ${describe(t)}`);
    if (!comparison) {
      if (t.lower === "all") return { op: "all" };
      if (t.lower === "has") return { op: "has", key: this.#key(this.#next(), "'has'") };
      if (t.lower === "hasroles") throw this.#error(t, "'hasRoles' is not supported: sessionkit sessions have no $Roles property");
      if (RESERVED.has(t.lower)) throw this.#error(t, `expected a clause, found the keyword '${t.text}'`);
    }
    const key = t.text;
    const op = this.#next();
    if (op.kind !== "word" || !COMPARISONS.has(op.lower)) {
      throw this.#error(op, `expected 'is', 'eq', 'ne' or 'in' after the key ${JSON.stringify(key)}, found ${describe(op)}`);
    }
    if (op.lower === "in") return { op: "in", key, values: this.#list() };
    const value = this.#next();
    if (value.kind !== "string") throw this.#error(value, `expected a quoted string after '${op.text}', found ${describe(value)}`);
    return { op: op.lower === "ne" ? "ne" : "eq", key, value: value.text };
  }

  #key(t: Token, after: string): string {
    if (t.kind !== "word") throw this.#error(t, `expected a property key after ${after}, found ${describe(t)}`);
    return t.text;
  }

  #list(): string[] {
    const open = this.#next();
    if (open.kind !== "[") throw this.#error(open, `expected '[' after 'in', found ${describe(open)}`);
    const values: string[] = [];
    for (;;) {
      const t = this.#next();
      if (t.kind === "string") {
        values.push(t.text);
        const sep = this.#peek();
        if (sep.kind === ",") {
          this.#next();
          if (this.#peek().kind !== "string") throw this.#error(this.#peek(), `expected a quoted string after ',', found ${describe(this.#peek())}`);
        }
        continue;
      }
      if (t.kind === "]") {
        if (values.length === 0) throw this.#error(t, "'in' needs at least one value");
        return values;
      }
      throw this.#error(t, `expected a quoted string, ',' or ']' in the list, found ${describe(t)}`);
    }
  }
}

function describe(t: Token): string {
  switch (t.kind) {
    case "eof":
      return "the end of the filter";
    case "word":
      return `'${t.text.length > 40 ? t.text.slice(0, 40) + "…" : t.text}'`;
    case "string":
      return "a string";
    default:
      return `'${t.kind}'`;
  }
}

/** Parses a filter string (throws InvalidFilterError). */
export function parseFilter(filter: string): FilterNode {
  if (typeof filter !== "string") throw new InvalidFilterError(String(filter), 0, "a filter must be a string");
  if (filter.length > MAX_FILTER_LENGTH) {
    throw new InvalidFilterError(filter, MAX_FILTER_LENGTH, `longer than ${MAX_FILTER_LENGTH} characters`);
  }
  return new Parser(filter).parse();
}

const hasOwn = Object.prototype.hasOwnProperty;

/**
 * Turns a parsed filter into a predicate (closures; no eval). Values are compared first
 * and ownership checked only on a match: a miss, the common case, costs one property read.
 */
export function toPredicate(node: FilterNode): FilterPredicate {
  switch (node.op) {
    case "all":
      return () => true;
    case "has": {
      const { key } = node;
      return (p) => hasOwn.call(p, key);
    }
    case "eq": {
      const { key, value } = node;
      return (p) => p[key] === value && hasOwn.call(p, key);
    }
    case "ne": {
      const { key, value } = node;
      return (p) => !(p[key] === value && hasOwn.call(p, key));
    }
    case "in": {
      const { key } = node;
      const values = new Set(node.values);
      return (p) => {
        const v = p[key];
        return typeof v === "string" && values.has(v) && hasOwn.call(p, key);
      };
    }
    case "not": {
      const inner = toPredicate(node.expr);
      return (p) => !inner(p);
    }
    case "and": {
      const parts = node.exprs.map(toPredicate);
      if (parts.length === 2) {
        const [a, b] = parts as [FilterPredicate, FilterPredicate];
        return (p) => a(p) && b(p);
      }
      return (p) => {
        for (let i = 0; i < parts.length; i++) if (!parts[i]!(p)) return false;
        return true;
      };
    }
    case "or": {
      const parts = node.exprs.map(toPredicate);
      if (parts.length === 2) {
        const [a, b] = parts as [FilterPredicate, FilterPredicate];
        return (p) => a(p) || b(p);
      }
      return (p) => {
        for (let i = 0; i < parts.length; i++) if (parts[i]!(p)) return true;
        return false;
      };
    }
  }
}

const CACHE_LIMIT = 512;
const cache = new Map<string, FilterPredicate>();

/**
 * Compiles a filter string to a predicate. Compiled filters are cached by their text (the
 * 512 most recently used), so passing the same string on every push costs a map lookup.
 * Throws InvalidFilterError (code INVALID_FILTER, with `position`) on bad syntax.
 */
export function compileFilter(filter: string): FilterPredicate {
  const hit = cache.get(filter);
  if (hit) {
    // Move to the back: the map's insertion order is the eviction order.
    cache.delete(filter);
    cache.set(filter, hit);
    return hit;
  }
  const predicate = toPredicate(parseFilter(filter));
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  cache.set(filter, predicate);
  return predicate;
}

/** Quotes a value for use in a filter string: `'O\'Brien'` (Diffusion's `escape`, plus the quotes). */
export function quoteFilterValue(value: string): string {
  let out = "'";
  for (const c of value) out += c === "'" || c === '"' || c === "\\" ? "\\" + c : c;
  return out + "'";
}
