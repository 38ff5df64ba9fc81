import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { Message, MessageHeaders } from "../../../src/index.js";
import { HSTSEnforcer, HSTSEnforcerDB, HSTSPolicy } from "../../../src/features/hsts/index.js";

const dir = mkdtempSync(join(tmpdir(), "sessionkit-hsts-db-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function sts(e: HSTSEnforcer, url: string, value: string): void {
  const msg = new Message("GET", url);
  msg.status = 200;
  msg.responseHeaders = new MessageHeaders({ "Strict-Transport-Security": value });
  e.gotHeaders(msg);
}

describe("HSTSEnforcerDB", () => {
  it("persists header policies across reopen, never session policies", async () => {
    const path = join(dir, "a.sqlite");
    {
      await using e = await HSTSEnforcerDB.open(path);
      assert.equal(e.isPersistent, true);
      sts(e, "https://kept.example/", "max-age=600; includeSubDomains");
      sts(e, "https://dropped.example/", "max-age=600");
      sts(e, "https://dropped.example/", "max-age=0");
      e.setSessionPolicy("session.example", false);
    }
    await using e = await HSTSEnforcerDB.open(path);
    assert.deepEqual(e.getDomains(), ["kept.example"]);
    const p = e.getPolicyFor("a.kept.example")!;
    assert.equal(p.maxAge, 600);
    assert.equal(p.includeSubDomains, true);
    assert.ok(p.expires!.getTime() > Date.now() + 500_000);
  });

  it("drops lapsed policies on open", async () => {
    const path = join(dir, "b.sqlite");
    {
      await using e = await HSTSEnforcerDB.open(path);
      e.setPolicy(new HSTSPolicy("soon.example", 1, false, new Date(Date.now() + 1500)));
      e.setPolicy(new HSTSPolicy("later.example", 100, false));
    }
    await using e = await HSTSEnforcerDB.open(path, {});
    assert.deepEqual(e.getDomains().sort(), ["later.example", "soon.example"]);
    e.removePolicy("later.example");
    await e.close();
    const reopened = await HSTSEnforcerDB.open(path);
    assert.deepEqual(reopened.getDomains(), ["soon.example"]);
    await reopened.close();
  });

  it("survives a process restart", async () => {
    const path = join(dir, "c.sqlite");
    const script = join(dir, "child.mts");
    const src = pathToFileURL(resolve("src/features/hsts/index.ts")).href;
    writeFileSync(
      script,
      `
      import { HSTSEnforcerDB, HSTSPolicy } from ${JSON.stringify(src)};
      const e = await HSTSEnforcerDB.open(${JSON.stringify(path)});
      e.setPolicy(new HSTSPolicy("child.example", 3600, true));
      await e.close();
    `,
    );
    const r = spawnSync(process.execPath, ["--import", "tsx", script], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    await using e = await HSTSEnforcerDB.open(path);
    assert.ok(e.hasValidPolicy("x.child.example"));
  });

  it("refuses a file that is not an SQLite database with STORE_UNAVAILABLE", async () => {
    const path = join(dir, "junk.sqlite");
    writeFileSync(path, "this is not sqlite ".repeat(100));
    await assert.rejects(HSTSEnforcerDB.open(path), { code: "STORE_UNAVAILABLE" });
  });
});
