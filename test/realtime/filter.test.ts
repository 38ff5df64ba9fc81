/**
 * Diffusion session property filters: parsing, evaluation, errors with positions, limits,
 * and a push through RealtimeServer with a filter string.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  compileFilter,
  InvalidFilterError,
  MAX_FILTER_DEPTH,
  MAX_FILTER_LENGTH,
  parseFilter,
  quoteFilterValue,
  RealtimeSession,
  type SessionProperties,
} from "../../src/realtime/index.js";
import { matchesFilter } from "../../src/realtime/properties.js";
import { startServer, waitFor } from "./helpers.js";

const alice: SessionProperties = {
  $SessionId: "0123456789abcdef-0123456789abcdef",
  $Principal: "alice",
  $ClientIP: "127.0.0.1",
  $StartTime: "1700000000000",
  $Transport: "WEBSOCKET",
  Department: "Accounts",
  Country: "UK",
  Tier: "gold",
};
const bob: SessionProperties = {
  $SessionId: "fedcba9876543210-fedcba9876543210",
  $Principal: "bob",
  $ClientIP: "10.0.0.2",
  $StartTime: "1700000000001",
  $Transport: "WEBSOCKET",
  Department: "Payroll",
  Country: "DE",
};
const carol: SessionProperties = { $Principal: "carol", $Transport: "HTTP_POLLING", Country: "FR", Tier: "silver" };
const everyone = { alice, bob, carol };

/** Names of the sessions a filter matches. */
function who(filter: string): string[] {
  const f = compileFilter(filter);
  return Object.entries(everyone)
    .filter(([, p]) => f(p))
    .map(([n]) => n);
}

function invalid(filter: string, position: number, message?: RegExp): void {
  assert.throws(
    () => compileFilter(filter),
    (err: unknown) => {
      assert.ok(err instanceof InvalidFilterError, `${filter}: ${String(err)}`);
      assert.equal(err.code, "INVALID_FILTER");
      assert.equal(err.position, position, `${JSON.stringify(filter)}: ${err.message}`);
      assert.equal(err.filter, filter);
      if (message) assert.match(err.message, message);
      return true;
    },
  );
}

test("equality, inequality, membership, presence and all", () => {
  assert.deepEqual(who("$Principal is 'alice'"), ["alice"]);
  assert.deepEqual(who(`$Principal eq "bob"`), ["bob"]);
  assert.deepEqual(who("Department ne 'Accounts'"), ["bob", "carol"]); // no Department: not equal
  assert.deepEqual(who("Country in ['UK','FR']"), ["alice", "carol"]);
  assert.deepEqual(who("Country in [ 'UK' , 'FR' ]"), ["alice", "carol"]);
  assert.deepEqual(who("Country in ['UK' 'DE']"), ["alice", "bob"]); // Diffusion lists may be space separated
  assert.deepEqual(who("Country in ['XX']"), []);
  assert.deepEqual(who("has Department"), ["alice", "bob"]);
  assert.deepEqual(who("has Nothing"), []);
  assert.deepEqual(who("all"), ["alice", "bob", "carol"]);
  assert.deepEqual(who("not all"), []);
  assert.deepEqual(who("$ClientIP is '10.0.0.2'"), ["bob"]);
});

test("and binds tighter than or; not and parentheses", () => {
  assert.deepEqual(who("Department eq 'Accounts' and not $Transport is 'WEBSOCKET'"), []);
  assert.deepEqual(who("Country is 'FR' and not $Transport is 'WEBSOCKET'"), ["carol"]);
  assert.deepEqual(who("Department ne 'Accounts' or (Tier is 'gold')"), ["alice", "bob", "carol"]);
  // a or b and c  ==  a or (b and c)
  assert.deepEqual(who("$Principal is 'bob' or Tier is 'gold' and Country is 'DE'"), ["bob"]);
  assert.deepEqual(who("($Principal is 'bob' or Tier is 'gold') and Country is 'UK'"), ["alice"]);
  assert.deepEqual(who("not (Department is 'Payroll' or Department is 'Accounts')"), ["carol"]);
  assert.deepEqual(who("not not has Tier"), ["alice", "carol"]);
  assert.deepEqual(who("((((has Tier))))"), ["alice", "carol"]);
  assert.deepEqual(who("has Tier and has Department and Country in ['UK']"), ["alice"]);
  assert.deepEqual(who("Tier is 'x' or Tier is 'y' or Tier is 'silver'"), ["carol"]);
});

test("keywords are case-insensitive; keys and values are not", () => {
  assert.deepEqual(who("$Principal IS 'alice' OR $Principal Eq 'bob'"), ["alice", "bob"]);
  assert.deepEqual(who("NOT Country IN ['UK'] AND HAS Tier"), ["carol"]);
  assert.deepEqual(who("Department NE 'Payroll' AND ALL"), ["alice", "carol"]);
  assert.deepEqual(who("$principal is 'alice'"), []);
  assert.deepEqual(who("$Principal is 'Alice'"), []);
});

test("string literals: both quotes, backslash escapes, empty, unicode, operators inside", () => {
  const p = { a: "O'Brien", b: 'say "hi"', c: "back\\slash", d: "", e: "naïve ✓ 日本", f: "x and y or not (z)", g: "[1,2]" };
  const ok = (filter: string) => assert.equal(matchesFilter(filter, p), true, filter);
  ok(`a is 'O\\'Brien'`);
  ok(`a is "O'Brien"`);
  ok(`b is "say \\"hi\\""`);
  ok(`b is 'say "hi"'`);
  ok(`c is 'back\\\\slash'`);
  ok(`d is ''`);
  ok(`d is ""`);
  ok(`e is 'naïve ✓ 日本'`);
  ok(`f is 'x and y or not (z)'`);
  ok(`g in ['[1,2]', ']']`);
  ok(`a is ${quoteFilterValue("O'Brien")} and b is ${quoteFilterValue('say "hi"')} and c is ${quoteFilterValue("back\\slash")}`);
  assert.equal(quoteFilterValue(`a'b"c\\d`), `'a\\'b\\"c\\\\d'`);
  // Whitespace of all kinds separates tokens; none is needed around punctuation.
  assert.equal(matchesFilter("\t(a\nis\r'O\\'Brien')\u00a0and(d is'')", p), true);
});

test("property names that look like keywords, and prototype keys", () => {
  const p = { not: "1", has: "2", all: "3", and: "4", or: "5" };
  assert.equal(matchesFilter("not is '1'", p), true);
  assert.equal(matchesFilter("has is '2' and all eq '3'", p), true);
  assert.equal(matchesFilter("and is '4' or or is 'x'", p), true);
  assert.equal(matchesFilter("has all", p), true);
  assert.equal(matchesFilter("not has nope", p), true);
  // Inherited members of Object.prototype are not properties.
  assert.equal(matchesFilter("has constructor", {}), false);
  assert.equal(matchesFilter("has __proto__", {}), false);
  assert.equal(matchesFilter("toString ne 'x'", {}), true);
  assert.equal(matchesFilter({ constructor: "x" } as SessionProperties, {}), false);
});

test("syntax errors are INVALID_FILTER with the position of the problem", () => {
  invalid("", 0, /empty/);
  invalid("   ", 3, /empty/);
  invalid("Department", 10, /expected 'is', 'eq', 'ne' or 'in' after the key "Department", found the end/);
  invalid("Department = 'x'", 11, /expected 'is'/);
  invalid("Department is", 13, /quoted string/);
  invalid("Department is Accounts", 14, /quoted string/);
  invalid("Department is 'Accounts", 14, /unterminated string/);
  invalid("Department is 'Accounts\\", 23, /backslash/);
  invalid("Department is 'x' Country is 'y'", 18, /expected 'and', 'or' or the end/);
  invalid("Department is 'x' and", 21, /expected a clause/);
  invalid("and Department is 'x'", 0, /keyword 'and'/);
  invalid("(has x", 6, /expected '\)' to close the '\(' at position 0/);
  invalid("has x)", 5, /unbalanced '\)'/);
  invalid("()", 1, /expected a clause/);
  invalid("has", 3, /property key after 'has'/);
  invalid("has 'x'", 4, /property key after 'has'/);
  invalid("Country in 'UK'", 11, /expected '\[' after 'in'/);
  invalid("Country in []", 12, /at least one value/);
  invalid("Country in ['UK',]", 17, /quoted string after ','/);
  invalid("Country in ['UK',,'FR']", 17, /quoted string after ','/);
  invalid("Country in ['UK'", 16, /found the end/);
  invalid("Country in [UK]", 12, /quoted string, ',' or '\]'/);
  invalid("not", 3, /expected a clause/);
  invalid("or", 0, /keyword 'or'/);
  invalid("hasRoles ['admin']", 0, /hasRoles/);
  invalid("'x' is 'y'", 0, /expected a clause/);
});

test("nesting depth and length are bounded; long flat chains are fine", () => {
  const deep = (n: number) => "(".repeat(n) + "all" + ")".repeat(n);
  assert.equal(compileFilter(deep(MAX_FILTER_DEPTH))({}), true);
  invalid(deep(MAX_FILTER_DEPTH + 1), MAX_FILTER_DEPTH, /nesting deeper than 64/);
  invalid("not ".repeat(MAX_FILTER_DEPTH + 1) + "all", 4 * MAX_FILTER_DEPTH, /nesting/);
  invalid("(".repeat(100_000), MAX_FILTER_LENGTH, /longer than/);
  // A flat chain of thousands of clauses parses and evaluates without recursion.
  const chain = Array.from({ length: 1000 }, (_, i) => `k is '${i}'`).join(" or ");
  assert.ok(chain.length < MAX_FILTER_LENGTH);
  assert.equal(compileFilter(chain)({ k: "999" }), true);
  assert.equal(compileFilter(chain)({ k: "1000" }), false);
});

test("hostile input is rejected quickly (no backtracking)", () => {
  const start = performance.now();
  for (const s of [
    "'" + "\\'".repeat(8000),
    "a is " + "'x' ".repeat(4000),
    "a in [" + "'x',".repeat(4000),
    "(".repeat(16_000),
    "not ".repeat(4000),
    "x".repeat(MAX_FILTER_LENGTH),
  ]) {
    assert.throws(() => compileFilter(s), { code: "INVALID_FILTER" });
  }
  assert.ok(performance.now() - start < 1000, "took too long");
});

test("compiled filters are cached by text; errors are not", () => {
  const f = compileFilter("has Tier");
  assert.equal(compileFilter("has Tier"), f);
  assert.notEqual(compileFilter("has  Tier"), f); // different text, separate entry
  // The cache is bounded: many distinct filters do not keep every predicate.
  for (let i = 0; i < 2000; i++) compileFilter(`k is '${i}'`);
  assert.notEqual(compileFilter("has Tier"), f);
  assert.throws(() => compileFilter("has"), { code: "INVALID_FILTER" });
  assert.throws(() => compileFilter("has"), { code: "INVALID_FILTER" });
});

test("parseFilter exposes the tree", () => {
  assert.deepEqual(parseFilter("a is 'x' or not (b ne 'y' and has c) or d in ['1', '2'] or ALL"), {
    op: "or",
    exprs: [
      { op: "eq", key: "a", value: "x" },
      {
        op: "not",
        expr: {
          op: "and",
          exprs: [
            { op: "ne", key: "b", value: "y" },
            { op: "has", key: "c" },
          ],
        },
      },
      { op: "in", key: "d", values: ["1", "2"] },
      { op: "all" },
    ],
  });
});

test("objects and functions still work; other filter values are refused", () => {
  assert.equal(matchesFilter({ Tier: "gold", Country: "UK" }, alice), true);
  assert.equal(matchesFilter({ Tier: "gold", Country: "DE" }, alice), false);
  assert.equal(matchesFilter({}, alice), true);
  assert.equal(
    matchesFilter((p) => p.$Principal === "bob", bob),
    true,
  );
  for (const bad of [null, 42, ["a"], { Tier: 1 }, undefined]) {
    assert.throws(() => matchesFilter(bad as never, alice), { code: "INVALID_ARGUMENT" }, String(bad));
  }
});

test("sendToFilter with a filter string pushes to the matching sessions only", async () => {
  const { server, url } = await startServer({
    authenticator: (principal) => ({ properties: { Department: principal === "alice" ? "Accounts" : "Payroll" } }),
  });
  await using _server = server;
  const got: Record<string, unknown[]> = { alice: [], bob: [], carol: [] };
  const sessions = await Promise.all(
    ["alice", "bob", "carol"].map(async (name) => {
      const s = await new RealtimeSession(url, { principal: name, properties: { Country: name === "carol" ? "FR" : "UK" } }).connect();
      s.addHandler("news", (v) => {
        got[name]!.push(v);
      });
      return s;
    }),
  );
  try {
    assert.equal(await server.sendToFilter("$Principal is 'alice'", "news", 1), 1);
    assert.equal(await server.sendToFilter("Department eq 'Payroll' and Country in ['FR']", "news", 2), 1);
    assert.equal(await server.sendToFilter("Department ne 'Accounts' or (Country is 'UK')", "news", 3), 3);
    assert.equal(await server.sendToFilter("not $Transport is 'WEBSOCKET'", "news", 4), 0);
    assert.equal(await server.sendToFilter(`$SessionId is '${sessions[1]!.sessionId}'`, "news", 5), 1);
    assert.equal(await server.sendToFilter("ALL", "news", 6), 3);
    await assert.rejects(server.sendToFilter("Department is", "news", 7), (err: InvalidFilterError) => {
      assert.equal(err.code, "INVALID_FILTER");
      assert.equal(err.position, 13);
      return true;
    });
    // Nothing else arrives (7 was never sent): a last push to everyone comes after
    // anything sent before it (each session's stream is in order), so once it is in, the
    // lists are complete.
    assert.equal(await server.sendToFilter("all", "news", "end"), 3);
    await waitFor(() => Object.values(got).every((l) => l.at(-1) === "end"), "the closing push");
    assert.deepEqual(got, { alice: [1, 3, 6, "end"], bob: [3, 5, 6, "end"], carol: [2, 3, 6, "end"] });
  } finally {
    for (const s of sessions) await s.close();
  }
});
