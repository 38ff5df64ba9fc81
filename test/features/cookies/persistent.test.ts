/** CookieJarText (cookies.txt, curl-compatible) and CookieJarDB (SQLite), the same suite for both. */
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { promisify } from "node:util";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { Message, Session } from "../../../src/index.js";
import { CookieJar, CookieJarDB, CookieJarText } from "../../../src/features/cookies/index.js";
import { startHttp, type TestServer } from "../hsts/servers.js";

const dir = mkdtempSync(join(tmpdir(), "sessionkit-cookies-"));
let server: TestServer;
before(async () => {
  server = await startHttp((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const set = url.searchParams.getAll("c");
    if (set.length > 0) res.setHeader("Set-Cookie", set);
    res.end(req.headers.cookie ?? "");
  });
});
after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

// curl must run asynchronously: the server it talks to lives in this process.
const curl = async (...args: string[]) => (await promisify(execFile)("curl", args, { encoding: "utf8" })).stdout;
const base = () => `http://127.0.0.1:${server.port}`;
const q = (cookies: string[]) => `?${cookies.map((c) => `c=${encodeURIComponent(c)}`).join("&")}`;

async function get(jar: CookieJar, path: string): Promise<string> {
  await using s = new Session({ proxyResolver: null, features: [jar] });
  return new TextDecoder().decode(await s.sendAndRead(new Message("GET", `${base()}${path}`)));
}

interface Kind {
  name: string;
  file: string;
  open(path: string, opts?: { persistSessionCookies?: boolean }): Promise<CookieJar>;
  /** Module and class for the child-process test. */
  className: string;
}

const kinds: Kind[] = [
  { name: "CookieJarText", file: "cookies.txt", open: (p, o) => CookieJarText.open(p, o), className: "CookieJarText" },
  { name: "CookieJarDB", file: "cookies.sqlite", open: (p, o) => CookieJarDB.open(p, o), className: "CookieJarDB" },
];

let n = 0;
for (const kind of kinds) {
  describe(kind.name, () => {
    const fresh = () => join(dir, `${n++}-${kind.file}`);

    it("keeps persistent cookies across reopen; session cookies only when asked", async () => {
      const path = fresh();
      const jar = await kind.open(path);
      assert.equal(jar.isPersistent, true);
      await get(jar, `/set${q(["p=1; Max-Age=3600; HttpOnly", "sess=1", "d=1; Domain=127.0.0.1; Max-Age=3600; SameSite=Strict"])}`);
      await jar.close();
      const again = await kind.open(path);
      assert.equal(await get(again, "/echo"), "p=1; d=1");
      const byName = new Map((await again.allCookies()).map((c) => [c.name, c]));
      assert.equal(byName.get("p")?.httpOnly, true);
      assert.ok(Math.abs(byName.get("p")!.expires!.getTime() - (Date.now() + 3600_000)) < 10_000);
      await again.close();

      const path2 = fresh();
      const keep = await kind.open(path2, { persistSessionCookies: true });
      await get(keep, `/set${q(["sess=1"])}`);
      await keep.close();
      const back = await kind.open(path2, { persistSessionCookies: true });
      assert.equal(await get(back, "/echo"), "sess=1");
      const [c] = await back.allCookies();
      assert.equal(c.persistent, false, "still a session cookie");
      await back.close();
    });

    it("writes deletions and replacements through", async () => {
      const path = fresh();
      const jar = await kind.open(path);
      await get(jar, `/set${q(["a=1; Max-Age=3600", "b=1; Max-Age=3600"])}`);
      await get(jar, `/set${q(["a=2; Max-Age=3600", "b=; Max-Age=0"])}`);
      await jar.close();
      const again = await kind.open(path);
      assert.equal(await get(again, "/echo"), "a=2");
      await again.deleteCookie({ name: "a", domain: "127.0.0.1", path: "/" });
      await again.close();
      const third = await kind.open(path);
      assert.equal(await third.count(), 0);
      await third.close();
    });

    it("survives a process restart", async () => {
      const path = fresh();
      const script = join(dir, `child-${kind.className}.mts`);
      const src = pathToFileURL(resolve("src/features/cookies/index.ts")).href;
      writeFileSync(
        script,
        `
        import { ${kind.className} } from ${JSON.stringify(src)};
        const jar = await ${kind.className}.open(${JSON.stringify(path)});
        await jar.setCookie("http://127.0.0.1/", "child=42; Max-Age=3600");
        // No close(): the change must reach the disk on its own before the process exits.
      `,
      );
      const r = spawnSync(process.execPath, ["--import", "tsx", script], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      const jar = await kind.open(path);
      assert.equal(await jar.getCookieHeader("http://127.0.0.1/"), "child=42");
      await jar.close();
    });

    it("refuses an unreadable store with STORE_UNAVAILABLE", async () => {
      await assert.rejects(kind.open(dir), { code: "STORE_UNAVAILABLE" });
    });
  });
}

describe("CookieJarText file format", () => {
  it("writes curl's Netscape format atomically with mode 0600", async () => {
    const path = join(dir, "format.txt");
    const jar = await CookieJarText.open(path);
    await jar.setCookie("http://www.example.com/", "dom=v1; Domain=example.com; Path=/; Max-Age=3600");
    await jar.setCookie("https://www.example.com/", "host=v2; HttpOnly; Secure; Max-Age=3600");
    await jar.close();
    const text = readFileSync(path, "utf8");
    assert.match(text, /^# Netscape HTTP Cookie File/);
    const lines = text.split("\n").filter((l) => l !== "" && !(l.startsWith("#") && !l.startsWith("#HttpOnly_")));
    assert.equal(lines.length, 2);
    assert.match(lines[0], /^\.example\.com\tTRUE\t\/\tFALSE\t\d{10}\tdom\tv1$/);
    assert.match(lines[1], /^#HttpOnly_www\.example\.com\tFALSE\t\/\tTRUE\t\d{10}\thost\tv2$/);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(readFileSync(path, "utf8").includes(".tmp"), false);
  });

  it("skips malformed and expired lines when loading", async () => {
    const path = join(dir, "hand.txt");
    const future = Math.floor(Date.now() / 1000) + 3600;
    writeFileSync(
      path,
      [
        "# comment",
        `127.0.0.1\tFALSE\t/\tFALSE\t${future}\tgood\t1`,
        `127.0.0.1\tFALSE\t/\tFALSE\t1\texpired\t1`,
        "not\ta\tcookie",
        `127.0.0.1\tFALSE\tnopath\tFALSE\t${future}\tbadpath\t1`,
        `127.0.0.1\tFALSE\t/\tFALSE\tsoon\tbadexp\t1`,
        `#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t0\tsess\t2`,
        "\u0000\u0001binary\tjunk",
        "x".repeat(20000),
      ].join("\r\n"),
    );
    const jar = await CookieJarText.open(path);
    assert.equal(await jar.getCookieHeader("http://127.0.0.1/"), "good=1; sess=2");
    await jar.close();
  });

  it("never writes in readOnly mode", async () => {
    const path = join(dir, "ro.txt");
    const future = Math.floor(Date.now() / 1000) + 3600;
    const original = `# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t${future}\tkeep\t1\n`;
    writeFileSync(path, original);
    const jar = await CookieJarText.open(path, { readOnly: true });
    await jar.setCookie("http://127.0.0.1/", "new=1; Max-Age=3600");
    assert.equal(await jar.getCookieHeader("http://127.0.0.1/"), "keep=1; new=1");
    await jar.close();
    assert.equal(readFileSync(path, "utf8"), original);
  });

  const hasCurl = spawnSync("curl", ["--version"]).status === 0;

  it("is readable by curl (-b)", { skip: !hasCurl && "curl not installed" }, async () => {
    const path = join(dir, "for-curl.txt");
    const jar = await CookieJarText.open(path);
    await get(jar, `/set${q(["fromjar=1; Max-Age=3600", "ho=2; HttpOnly; Max-Age=3600"])}`);
    await jar.close();
    const body = await curl("-s", "-b", path, `${base()}/echo`);
    assert.deepEqual(body.split("; ").sort(), ["fromjar=1", "ho=2"]);
  });

  it("reads what curl writes (-c)", { skip: !hasCurl && "curl not installed" }, async () => {
    const path = join(dir, "from-curl.txt");
    await curl("-s", "-c", path, `${base()}/set${q(["bycurl=1; Max-Age=3600", "hc=2; HttpOnly; Max-Age=3600"])}`);
    assert.ok(existsSync(path));
    const jar = await CookieJarText.open(path);
    assert.deepEqual((await get(jar, "/echo")).split("; ").sort(), ["bycurl=1", "hc=2"]);
    assert.equal((await jar.allCookies()).find((c) => c.name === "hc")?.httpOnly, true);
    await jar.close();
  });
});

describe("CookieJarDB file format", () => {
  it("uses libsoup's moz_cookies table (leading dot for domain cookies)", async () => {
    const path = join(dir, "schema.sqlite");
    const jar = await CookieJarDB.open(path);
    await jar.setCookie("http://www.example.com/", "dom=v; Domain=example.com; Max-Age=3600; SameSite=Lax");
    await jar.close();
    const Database = (await import("better-sqlite3")).default;
    const db = new Database(path, { readonly: true });
    const rows = db.prepare("SELECT name, value, host, path, isSecure, isHttpOnly, sameSite FROM moz_cookies").all();
    db.close();
    assert.deepEqual(rows, [{ name: "dom", value: "v", host: ".example.com", path: "/", isSecure: 0, isHttpOnly: 0, sameSite: 1 }]);
  });
});

describe("optional dependency", () => {
  it("importing the cookie and HSTS modules loads no native SQLite addon until open()", () => {
    const script = join(dir, "lazy.mts");
    const cookies = pathToFileURL(resolve("src/features/cookies/index.ts")).href;
    const hsts = pathToFileURL(resolve("src/features/hsts/index.ts")).href;
    writeFileSync(
      script,
      `
      const loaded: string[] = [];
      const dlopen = process.dlopen;
      process.dlopen = (m: any, file: string, ...rest: any[]) => { loaded.push(file); return (dlopen as any)(m, file, ...rest); };
      const c = await import(${JSON.stringify(cookies)});
      const h = await import(${JSON.stringify(hsts)});
      const jar = new c.CookieJar(); await jar.setCookie("http://a.example/", "x=1");
      new h.HSTSEnforcer().setSessionPolicy("a.example", true);
      const before = loaded.filter((f) => f.includes("sqlite")).length;
      const db = await c.CookieJarDB.open(":memory:"); await db.close();
      const after = loaded.filter((f) => f.includes("sqlite")).length;
      console.log(JSON.stringify({ before, after }));
    `,
    );
    const r = spawnSync(process.execPath, ["--import", "tsx", script], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout.trim()), { before: 0, after: 1 });
  });
});
