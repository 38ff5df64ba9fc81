/**
 * Issue 12 (10), second half: the opt-in guard against endpoints and redirect targets that
 * resolve to link-local or private addresses. The check runs inside the socket's own DNS
 * lookup (no check-then-connect race); IP literals are checked before connecting.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { AddressGuard, addressGuardFrom, classifyAddress } from "../../src/http/address-guard.js";
import { createConnector } from "../../src/http/connector.js";
import { Message } from "../../src/http/message.js";
import { Session } from "../../src/http/session.js";

function connect(target: string, guard: AddressGuard | null, extra: Partial<Parameters<typeof createConnector>[0]> = {}) {
  const connector = createConnector({ target: new URL(target), proxy: null, tls: {}, timeout: 5000, addressGuard: guard, ...extra });
  return new Promise<Socket>((resolve, reject) => connector((err, s) => (err ? reject(err) : resolve(s!))));
}

describe("classifyAddress", () => {
  const cases: Array<[string, string | null]> = [
    ["8.8.8.8", null],
    ["2606:4700:4700::1111", null],
    ["::ffff:8.8.8.8", null],
    ["172.32.0.1", null],
    ["169.254.169.254", "link-local"],
    ["10.0.0.1", "private"],
    ["172.16.5.4", "private"],
    ["192.168.1.1", "private"],
    ["100.64.0.1", "shared (CGNAT)"],
    ["127.0.0.1", "loopback"],
    ["0.0.0.0", "unspecified"],
    ["224.0.0.1", "multicast"],
    ["255.255.255.255", "reserved"],
    ["::1", "loopback"],
    ["::", "unspecified"],
    ["fe80::1%eth0", "link-local"],
    ["fd12:3456::1", "unique local"],
    ["ff02::1", "multicast"],
    // IPv4 hidden in IPv6 is judged as the IPv4 it carries.
    ["::ffff:169.254.169.254", "link-local"],
    ["::ffff:a9fe:a9fe", "link-local"],
    ["64:ff9b::169.254.169.254", "link-local"],
    ["2002:0a00:0001::1", "private"],
    ["::ffff:127.0.0.1", "loopback"],
  ];
  for (const [address, kind] of cases) it(`${address} → ${kind ?? "public"}`, () => assert.equal(classifyAddress(address), kind));
});

describe("the guard at connect time", () => {
  let server: http.Server;
  let port = 0;
  before(async () => {
    server = http.createServer((_req, res) => res.end("ok"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it("an IP literal on a refused range fails with ADDRESS_BLOCKED and no socket is opened", async () => {
    let accepted = 0;
    server.on("connection", () => accepted++);
    await assert.rejects(connect(`http://127.0.0.1:${port}/`, new AddressGuard()), { code: "ADDRESS_BLOCKED" });
    await assert.rejects(connect("http://169.254.169.254/", new AddressGuard({ allowLoopback: true })), (e: Error & { code: string }) => {
      assert.equal(e.code, "ADDRESS_BLOCKED");
      assert.match(e.message, /link-local/);
      return true;
    });
    assert.equal(accepted, 0);
  });

  it("a name is checked on what it resolves to, inside the socket's own lookup", async () => {
    // localhost resolves (hosts file) to 127.0.0.1 and/or ::1: refused unless loopback is allowed.
    await assert.rejects(connect(`http://localhost:${port}/`, new AddressGuard()), (e: Error & { code: string }) => {
      assert.equal(e.code, "ADDRESS_BLOCKED");
      assert.match(e.message, /^Refusing to connect to localhost \(/);
      return true;
    });
    const s = await connect(`http://localhost:${port}/`, new AddressGuard({ allowLoopback: true }));
    assert.equal(s.remoteAddress, "127.0.0.1");
    s.destroy();
  });

  it("without the guard (the default) loopback connects as before", async () => {
    const s = await connect(`http://127.0.0.1:${port}/`, null);
    s.destroy();
  });

  it("a configured proxy is not subject to the guard, but an IP-literal tunnel target is", async () => {
    const proxy = new URL(`http://127.0.0.1:${port}`);
    const err = await connect("https://10.0.0.1/", new AddressGuard(), { proxy }).catch((e: unknown) => e);
    assert.equal((err as { code?: string }).code, "ADDRESS_BLOCKED");
  });

  it("addressGuardFrom validates the option", () => {
    assert.equal(addressGuardFrom(undefined), null);
    assert.equal(addressGuardFrom(false), null);
    assert.equal(addressGuardFrom(true)?.allowLoopback, false);
    assert.equal(addressGuardFrom({ allowLoopback: true })?.allowLoopback, true);
    assert.throws(() => addressGuardFrom("yes"), { code: "INVALID_ARGUMENT" });
    assert.throws(() => addressGuardFrom({ allowLoopback: "yes" }), { code: "INVALID_ARGUMENT" });
  });
});

describe("Session({ blockPrivateAddresses })", () => {
  // The option is declared in session-options.ts and enforced by the connector; session.ts
  // and transport.ts hand it over. Until they do, this test is reported as a TODO.
  it(
    "refuses a redirect to a private address, and the first request to one",
    { todo: plumbed() ? false : "session.ts/transport.ts do not pass blockPrivateAddresses to the connector yet" },
    async () => {
      const origin = http.createServer((_req, res) => {
        res.writeHead(302, { Location: "http://169.254.169.254/latest/meta-data/" });
        res.end();
      });
      await new Promise<void>((r) => origin.listen(0, "127.0.0.1", r));
      const url = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/`;
      const s = new Session({ proxyResolver: null, blockPrivateAddresses: { allowLoopback: true } });
      const strict = new Session({ proxyResolver: null, blockPrivateAddresses: true });
      try {
        await assert.rejects(s.sendAndRead(new Message("GET", url)), { code: "ADDRESS_BLOCKED" });
        await assert.rejects(strict.sendAndRead(new Message("GET", url)), { code: "ADDRESS_BLOCKED" });
      } finally {
        await s.close();
        await strict.close();
        await new Promise<void>((r) => origin.close(() => r()));
      }
    },
  );
});

/** Whether session.ts passes the option on (read from its source, so this file needs no edit once it does). */
function plumbed(): boolean {
  return readFileSync(new URL("../../src/http/session.ts", import.meta.url), "utf8").includes("blockPrivateAddresses");
}
