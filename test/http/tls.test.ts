/**
 * TLS: a test CA (openssl-made at test time) as tlsDatabase, the default store, a null
 * database (every certificate fails), host name checks and mutual TLS via tlsInteraction.
 */
import assert from "node:assert/strict";
import type { TLSSocket } from "node:tls";
import { describe, it } from "node:test";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { Message, MessageFlags } from "../../src/http/message.js";

const execFileP = promisify(execFile);
import { defer, newSession, rejectsWithCode, startHttpsServer, text, tlsFixture } from "./helpers.js";

describe("TLS", () => {
  it("tlsDatabase with the test CA verifies the server", async () => {
    const srv = await startHttpsServer((req, res) => res.end(`tls ${req.url}`));
    const s = newSession({ tlsDatabase: tlsFixture().caCert });
    assert.equal(text(await s.sendAndRead(new Message("GET", `${srv.url}/a`))), "tls /a");
    // An array of PEMs (the CA among others) works too.
    const s2 = newSession({ tlsDatabase: [tlsFixture().otherCaCert, Buffer.from(tlsFixture().caCert)] });
    assert.equal(text(await s2.sendAndRead(new Message("GET", `${srv.url}/b`))), "tls /b");
  });

  it("the default store (tlsDatabase undefined) does not trust the test CA: TLS_FAILED", async () => {
    const srv = await startHttpsServer((_req, res) => res.end("x"));
    const s = newSession();
    const err = await rejectsWithCode(s.sendAndRead(new Message("GET", `${srv.url}/`)), "TLS_FAILED");
    assert.equal(err.name, "NetworkError");
    assert.equal(srv.requests.length, 0);
  });

  it("a CA that did not sign the server certificate: TLS_FAILED", async () => {
    const srv = await startHttpsServer((_req, res) => res.end("x"));
    const s = newSession({ tlsDatabase: tlsFixture().otherCaCert });
    await rejectsWithCode(s.sendAndRead(new Message("GET", `${srv.url}/`)), "TLS_FAILED");
  });

  it("tlsDatabase null: every certificate fails", async () => {
    const srv = await startHttpsServer((_req, res) => res.end("x"));
    const s = newSession({ tlsDatabase: null });
    assert.equal(s.tlsDatabase, null);
    await rejectsWithCode(s.sendAndRead(new Message("GET", `${srv.url}/`)), "TLS_FAILED");
    assert.equal(srv.requests.length, 0);
  });

  it("tlsDatabase null fails even a certificate the default store trusts (child process with NODE_EXTRA_CA_CERTS)", async () => {
    const srv = await startHttpsServer((_req, res) => res.end("trusted"));
    const dir = mkdtempSync(join(tmpdir(), "sk-tlsnull-"));
    defer(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, "ca.pem"), tlsFixture().caCert);
    const sessionUrl = pathToFileURL(resolve("src/http/session.ts")).href;
    const messageUrl = pathToFileURL(resolve("src/http/message.ts")).href;
    writeFileSync(
      join(dir, "probe.mts"),
      `
      import { Session } from ${JSON.stringify(sessionUrl)};
      import { Message } from ${JSON.stringify(messageUrl)};
      const out: string[] = [];
      for (const tlsDatabase of [undefined, null]) {
        const s = new Session({ proxyResolver: null, tlsDatabase });
        try {
          const b = await s.sendAndRead(new Message("GET", ${JSON.stringify(`${srv.url}/`)}));
          out.push("ok:" + Buffer.from(b).toString());
        } catch (e) {
          out.push("err:" + (e as { code?: string }).code);
        }
        await s.close();
      }
      console.log(JSON.stringify(out));
    `,
    );
    const { stdout } = await execFileP(process.execPath, ["--import", "tsx", join(dir, "probe.mts")], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, "ca.pem") },
      cwd: process.cwd(),
    });
    assert.deepEqual(JSON.parse(stdout.trim().split("\n").at(-1)!), ["ok:trusted", "err:TLS_FAILED"]);
  });

  it("the host name is checked against the certificate (via remoteConnectable)", async () => {
    const srv = await startHttpsServer((req, res) => res.end(`host ${req.headers.host}`));
    const s = newSession({ tlsDatabase: tlsFixture().caCert, remoteConnectable: `127.0.0.1:${srv.port}` });
    assert.equal(text(await s.sendAndRead(new Message("GET", "https://example.test/"))), "host example.test");
    await rejectsWithCode(s.sendAndRead(new Message("GET", "https://wrong.invalid/")), "TLS_FAILED");
  });

  it("mutual TLS: tlsInteraction presents the client certificate", async () => {
    const fx = tlsFixture();
    const srv = await startHttpsServer(
      (req, res) => {
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        res.end(`client ${peer.subject?.CN}`);
      },
      { requestCert: true, rejectUnauthorized: true, ca: fx.caCert },
    );
    const s = newSession({ tlsDatabase: fx.caCert, tlsInteraction: { cert: fx.clientCert, key: fx.clientKey } });
    assert.equal(text(await s.sendAndRead(new Message("GET", `${srv.url}/`))), "client sessionkit client");
  });

  it("mutual TLS: without a client certificate the request fails with a typed error", async () => {
    const fx = tlsFixture();
    const srv = await startHttpsServer((_req, res) => res.end("never"), { requestCert: true, rejectUnauthorized: true, ca: fx.caCert });
    const s = newSession({ tlsDatabase: fx.caCert });
    await assert.rejects(s.sendAndRead(new Message("GET", `${srv.url}/`)), (e: Error & { code?: string }) => {
      assert.equal(e.name, "NetworkError");
      assert.ok(["TLS_FAILED", "CONNECTION_RESET"].includes(e.code ?? ""), `code ${e.code}`);
      return true;
    });
    assert.equal(srv.requests.length, 0);
  });

  it("mutual TLS: a client certificate from an untrusted CA is refused", async () => {
    const fx = tlsFixture();
    const srv = await startHttpsServer((_req, res) => res.end("never"), { requestCert: true, rejectUnauthorized: true, ca: fx.otherCaCert });
    const s = newSession({ tlsDatabase: fx.caCert, tlsInteraction: { cert: fx.clientCert, key: fx.clientKey } });
    await assert.rejects(s.sendAndRead(new Message("GET", `${srv.url}/`)), { name: "NetworkError" });
    assert.equal(srv.requests.length, 0);
  });

  it("COLLECT_METRICS over https records the TLS step", async () => {
    const srv = await startHttpsServer((_req, res) => res.end("m"));
    const s = newSession({ tlsDatabase: tlsFixture().caCert });
    const msg = new Message("GET", `${srv.url}/`);
    msg.addFlags(MessageFlags.COLLECT_METRICS);
    await s.sendAndRead(msg);
    const m = msg.metrics!;
    assert.ok(m.tlsStart > 0, "tlsStart");
    assert.ok(m.tlsStart >= m.connectStart && m.responseStart >= m.tlsStart);
  });
});
