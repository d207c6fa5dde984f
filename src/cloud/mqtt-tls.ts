// TLS for MQTT (--mqtt-tls-cert, --mqtt-tls-key, --mqtt-tls-ca): the embedded broker's
// certificate and key, and the CA that the cloud's own clients and every joining edge verify the
// broker with. Checked at start, so that a wrong file is one clear line instead of edges failing
// one by one later: the key must belong to the certificate, and the certificate must be valid for
// the address edges are told to use (--advertise-address).
import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { describeError, UsageError } from "../runtime/errors.ts";
import { describeFsError } from "../runtime/fs-errors.ts";

export interface BrokerTls {
  /** PEM certificate (chain) the broker presents. */
  cert: string;
  /** PEM private key. */
  key: string;
}

/** The problem with a certificate/key pair for `address`, or undefined when it is fine. Pure. */
export function certificateProblem(certPem: string, keyPem: string, address: string): string | undefined {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (err) {
    return `not a PEM certificate (${describeError(err)})`;
  }
  try {
    if (!cert.checkPrivateKey(createPrivateKey(keyPem))) return "the key does not belong to the certificate";
  } catch (err) {
    return `not a PEM private key (${describeError(err)})`;
  }
  const covered = isIP(address) ? cert.checkIP(address) : cert.checkHost(address);
  if (!covered) {
    const names = cert.subjectAltName ?? "none";
    return `the certificate is not valid for the advertise address ${address} (subjectAltName: ${names}); edges could not verify the broker. Add ${isIP(address) ? "IP" : "DNS"}:${address} to its subjectAltName, or set --advertise-address`;
  }
  return undefined;
}

/** Milliseconds until the certificate expires (negative when it has). */
export function certificateExpiresInMs(certPem: string, nowMs: number): number {
  return Date.parse(new X509Certificate(certPem).validTo) - nowMs;
}

function readPem(flag: string, path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new UsageError(`levee cloud: cannot read ${flag} ${path}: ${describeFsError(err)}`);
  }
}

/** Reads and checks the embedded broker's certificate and key, and the CA to hand to edges. */
export function loadBrokerTls(
  files: { certFile: string; keyFile: string; caFile: string | undefined },
  advertiseAddress: string,
): { server: BrokerTls; ca: string } {
  const cert = readPem("--mqtt-tls-cert", files.certFile);
  const key = readPem("--mqtt-tls-key", files.keyFile);
  const problem = certificateProblem(cert, key, advertiseAddress);
  if (problem) throw new UsageError(`levee cloud: --mqtt-tls-cert ${files.certFile}: ${problem}`);
  const ca = files.caFile ? loadCa(files.caFile) : cert;
  return { server: { cert, key }, ca };
}

/** Reads --mqtt-tls-ca and checks that it holds at least one certificate. */
export function loadCa(path: string): string {
  const ca = readPem("--mqtt-tls-ca", path);
  try {
    new X509Certificate(ca);
  } catch (err) {
    throw new UsageError(`levee cloud: --mqtt-tls-ca ${path}: not a PEM certificate (${describeError(err)})`);
  }
  return ca;
}
