/**
 * The documentation cannot rot silently: every relative link in the README, docs/ and
 * bench/README.md points at a file that exists (and at a heading that exists, for links
 * with a #fragment), the README stays a short front page, and its JavaScript samples are
 * valid syntax for a plain .mjs file on this Node (no TypeScript, no `await using` on
 * Node 20). The API reference is built by docs-api.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { exec } from "./package/consumer-project.js";
import { ROOT } from "./package/pack.js";

function markdownFiles(): string[] {
  const out = [join(ROOT, "README.md"), join(ROOT, "CHANGELOG.md"), join(ROOT, "bench", "README.md")];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith(".md")) out.push(p);
    }
  };
  walk(join(ROOT, "docs"));
  return out;
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function anchors(markdown: string): Set<string> {
  const set = new Set<string>();
  let fenced = false;
  for (const line of markdown.split("\n")) {
    if (line.startsWith("```")) fenced = !fenced;
    const m = fenced ? null : /^#{1,6} (.*)$/.exec(line);
    if (m) {
      set.add(
        m[1]
          .trim()
          .toLowerCase()
          .replace(/[^\p{L}\p{N}\s_-]/gu, "")
          .replace(/ /g, "-"),
      );
    }
  }
  return set;
}

test("every relative link in the README, docs/ and bench/README.md resolves", () => {
  const broken: string[] = [];
  for (const file of markdownFiles()) {
    const text = readFileSync(file, "utf8").replace(/```[\s\S]*?```/g, "");
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/i.test(target)) continue; // http:, https:, mailto:
      const [path, fragment] = target.split("#");
      const resolved = path === "" ? file : join(dirname(file), path);
      if (!existsSync(resolved)) {
        broken.push(`${relative(ROOT, file)} → ${target} (no such file)`);
        continue;
      }
      if (fragment && resolved.endsWith(".md") && !anchors(readFileSync(resolved, "utf8")).has(fragment)) {
        broken.push(`${relative(ROOT, file)} → ${target} (no such heading)`);
      }
    }
  }
  assert.deepEqual(broken, []);
});

test("every page in docs/ is linked from the README or from another page", () => {
  const files = markdownFiles();
  const linked = new Set<string>();
  for (const file of files) {
    for (const [, target] of readFileSync(file, "utf8").matchAll(/\]\(([^)\s#]+)(#[^)\s]*)?\)/g)) {
      if (!/^[a-z]+:/i.test(target)) linked.add(join(dirname(file), target));
    }
  }
  const orphans = files.filter((f) => f.startsWith(join(ROOT, "docs")) && !linked.has(f)).map((f) => relative(ROOT, f));
  assert.deepEqual(orphans, [], "pages nobody can find from the README");
});

test("the README is a short front page that starts with the set-up commands", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const lines = readme.split("\n");
  assert.ok(lines.length <= 320, `README.md has ${lines.length} lines`);
  const head = lines.slice(0, 10).join("\n");
  for (const command of ["npm install", "npm test", "npm run demo"]) assert.ok(head.includes(command), `${command} in the first lines`);
  assert.match(readme, /npm install sessionkit/);
});

test("the README's JavaScript samples parse as .mjs files on this Node", async () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const samples = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.ok(samples.length >= 5, "one sample per entry point");
  const dir = mkdtempSync(join(tmpdir(), "sessionkit-samples-"));
  try {
    for (const [i, sample] of samples.entries()) {
      const file = join(dir, `sample-${i}.mjs`);
      writeFileSync(file, sample);
      await exec(process.execPath, ["--check", file], dir);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
