// Self-signed certificates for TLS tests, made with the openssl command line (P-256, one day).
// A missing openssl fails under CI and skips elsewhere (opensslAvailable()).
import { join } from "node:path";

export function opensslAvailable(): boolean {
  const found = Bun.which("openssl") !== null;
  if (!found && process.env.CI) throw new Error("openssl is not installed: CI must run the TLS tests");
  return found;
}

export interface TestCert {
  certFile: string;
  keyFile: string;
  /** The certificate's PEM text. */
  cert: string;
  key: string;
}

/** A self-signed certificate in dir/<name>.pem (+ -key.pem) for `san`, e.g. "IP:127.0.7.10". */
export async function makeCert(dir: string, name: string, san: string): Promise<TestCert> {
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}-key.pem`);
  const proc = Bun.spawnSync(
    [
      "openssl",
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-days",
      "1",
      "-subj",
      `/CN=${name}`,
      "-addext",
      `subjectAltName=${san}`,
      "-keyout",
      keyFile,
      "-out",
      certFile,
    ],
    { stdout: "pipe", stderr: "pipe" },
  );
  if (proc.exitCode !== 0) throw new Error(`openssl failed: ${proc.stderr.toString()}`);
  return { certFile, keyFile, cert: await Bun.file(certFile).text(), key: await Bun.file(keyFile).text() };
}
