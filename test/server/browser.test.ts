/**
 * End to end in a real browser: headless Chromium (Debian's package) through playwright-core.
 * The session survives page loads, is gone after logout, and the HttpOnly cookie is never
 * visible to page scripts.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { chromium } from "playwright-core";
import { sessionData, sessionMiddleware } from "../../src/server/index.js";
import { SECRET, startServer } from "./helpers.js";

const CHROMIUM = "/usr/bin/chromium";
const present = existsSync(CHROMIUM);
if (!present && process.env.CI === "true") throw new Error(`CI=true but ${CHROMIUM} is missing`);
const skip = present ? false : `${CHROMIUM} not found: skipping the browser test (apt-get install chromium)`;
if (skip) console.warn(`\n*** ${skip} ***\n`);

const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

describe("browser: headless Chromium", { skip }, () => {
  it("keeps the session across page loads, loses it after logout, hides the cookie from scripts", async () => {
    await using mw = sessionMiddleware({ secret: SECRET });
    await using server = await startServer(
      mw.node(async (req, res) => {
        const s = sessionData(req);
        const path = new URL(req.url ?? "/", "http://x").pathname;
        if (path === "/logout") {
          await s.destroy();
          res.setHeader("content-type", "text/html");
          res.end("<p id=out>logged out</p>");
          return;
        }
        if (path === "/favicon.ico") {
          res.statusCode = 404;
          res.end();
          return;
        }
        const n = ((s.get("visits") as number | undefined) ?? 0) + 1;
        s.set("visits", n);
        res.setHeader("content-type", "text/html");
        // The page reports what its own scripts can see of the cookies.
        res.end(
          `<p id=visits>${n}</p><p id=cookies></p><script>document.getElementById("cookies").textContent = JSON.stringify(document.cookie)</script>`,
        );
      }),
    );
    const userDataDir = mkdtempSync(join(tmpdir(), "sessionkit-chromium-"));
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
    });
    try {
      const page = await context.newPage();
      const visits = async () => {
        await page.goto(server.url + "/");
        return page.textContent("#visits");
      };
      assert.equal(await visits(), "1");
      assert.equal(await visits(), "2");
      assert.equal(await visits(), "3");
      assert.equal(await page.textContent("#cookies"), '""', "the page script sees no session cookie");
      assert.equal(await page.evaluate(() => document.cookie), "");
      const jar = await context.cookies(server.url);
      assert.equal(jar.length, 1);
      assert.equal(jar[0].name, "sid");
      assert.equal(jar[0].httpOnly, true);
      assert.equal(jar[0].sameSite, "Lax");

      await page.goto(server.url + "/logout");
      assert.equal(await page.textContent("#out"), "logged out");
      assert.deepEqual(await context.cookies(server.url), [], "logout removed the cookie");
      assert.equal(await visits(), "1", "a new session after logout");
    } finally {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    }
  });
});
