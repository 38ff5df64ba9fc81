/**
 * Issue 12 (3): every parser of peer input runs in linear time. Each parser is timed on
 * 100 KB adversarial inputs (and at its own length cap, where it has one) against a budget
 * measured in the same run from a benign input of the same size (see linear-budget.ts).
 * With the old `/[\t\n\r ]+$/` in the MIME parser this suite fails by orders of magnitude.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { measureCase } from "./linear-budget.js";
import { PARSER_CASES } from "./parser-cases.js";

describe("header parsers are linear on 100 KB adversarial inputs", () => {
  for (const c of PARSER_CASES) {
    it(c.name, async () => {
      const verdicts = await measureCase(c);
      const over = verdicts.filter((v) => !v.within);
      assert.deepEqual(
        over.map((v) => `${v.input}: ${v.ms.toFixed(1)} ms > budget ${v.budgetMs.toFixed(1)} ms (benign ${v.benignMs.toFixed(2)} ms)`),
        [],
      );
    });
  }
});
