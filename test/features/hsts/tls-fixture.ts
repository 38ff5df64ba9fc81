/**
 * A throwaway CA and server certificate, made with openssl at test time (nothing secret is
 * checked in). The server certificate covers localhost, example.test, *.example.test and
 * 127.0.0.1, so tests can reach named hosts through `remoteConnectable`.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TlsFixture {
  caPem: string;
  /** A second, unrelated CA: a session trusting only this one fails every handshake. */
  otherCaPem: string;
  certPem: string;
  keyPem: string;
}

let cached: TlsFixture | null = null;

export function tlsFixture(): TlsFixture {
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), "sessionkit-tls-"));
  const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  try {
    for (const name of ["ca", "other"]) {
      ssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        `${name}.key`,
        "-out",
        `${name}.pem`,
        "-days",
        "2",
        "-subj",
        `/CN=sessionkit test ${name} CA`,
      );
    }
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost");
    writeFileSync(join(dir, "ext.cnf"), "basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,DNS:example.test,DNS:*.example.test,IP:127.0.0.1\n");
    ssl(
      "x509",
      "-req",
      "-in",
      "server.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "server.pem",
      "-days",
      "2",
      "-extfile",
      "ext.cnf",
    );
    cached = {
      caPem: readFileSync(join(dir, "ca.pem"), "utf8"),
      otherCaPem: readFileSync(join(dir, "other.pem"), "utf8"),
      certPem: readFileSync(join(dir, "server.pem"), "utf8"),
      keyPem: readFileSync(join(dir, "server.key"), "utf8"),
    };
    return cached;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
