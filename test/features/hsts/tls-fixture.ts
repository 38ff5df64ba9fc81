/**
 * The shared openssl-made test PKI (test/helpers/tls.ts), under the names the HSTS and
 * cookie tests use.
 */
import { tlsFixture as sharedFixture } from "../../helpers/tls.js";

export interface TlsFixture {
  caPem: string;
  /** A second, unrelated CA: a session trusting only this one fails every handshake. */
  otherCaPem: string;
  certPem: string;
  keyPem: string;
}

export function tlsFixture(): TlsFixture {
  const f = sharedFixture();
  return { caPem: f.caCert, otherCaPem: f.otherCaCert, certPem: f.serverCert, keyPem: f.serverKey };
}
