/**
 * A throwaway PKI made with openssl at test time (nothing secret is checked in): a CA, an
 * unrelated second CA, a server certificate for localhost, example.test, *.example.test and
 * 127.0.0.1 (so tests can reach named hosts through `remoteConnectable`), and a client
 * certificate for mutual TLS. Made once per test process.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface HttpTlsFixture {
  caCert: string;
  /** An unrelated CA that signed nothing used here. */
  otherCaCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/** openssl req arguments for a fresh, unencrypted P-256 key. */
const NEW_EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

let cachedTls: HttpTlsFixture | null = null;

/** A CA, a server certificate for 127.0.0.1/localhost and a client certificate, all openssl-made. */
export function tlsFixture(): HttpTlsFixture {
  if (cachedTls) return cachedTls;
  const dir = mkdtempSync(join(tmpdir(), "sessionkit-tls-"));
  const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  try {
    for (const name of ["ca", "other"]) {
      ssl(
        "req",
        "-x509",
        ...NEW_EC_KEY,
        "-keyout",
        `${name}.key`,
        "-out",
        `${name}.pem`,
        "-days",
        "2",
        "-subj",
        `/CN=sessionkit http test ${name} CA`,
      );
    }
    writeFileSync(
      join(dir, "server.cnf"),
      "basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,DNS:example.test,DNS:*.example.test,IP:127.0.0.1\n",
    );
    writeFileSync(join(dir, "client.cnf"), "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n");
    for (const name of ["server", "client"]) {
      ssl("req", ...NEW_EC_KEY, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=sessionkit ${name}`);
      ssl(
        "x509",
        "-req",
        "-in",
        `${name}.csr`,
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        `${name}.pem`,
        "-days",
        "2",
        "-extfile",
        `${name}.cnf`,
      );
    }
    const r = (f: string) => readFileSync(join(dir, f), "utf8");
    cachedTls = {
      caCert: r("ca.pem"),
      otherCaCert: r("other.pem"),
      serverCert: r("server.pem"),
      serverKey: r("server.key"),
      clientCert: r("client.pem"),
      clientKey: r("client.key"),
    };
    return cachedTls;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
