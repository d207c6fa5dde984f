// The agent's Kubernetes API TLS: files made once (keys 0600) and read again, renewed when due or
// when the addresses change, and a real handshake: Bun's fetch and Python's ssl (what the
// Kubernetes client uses) verify the serving certificate against ca.crt for 127.0.0.1 and
// localhost, as load_incluster_config() does.
import { describe, expect, test } from "bun:test";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  kubeTlsDir,
  loadOrCreateKubeCa,
  loadOrCreateKubeTls,
} from "../../../src/node/kube-access/kube-tls.ts";
import { makeTempDir } from "../../harness/cluster.ts";

const DAY = 24 * 3600_000;
const mode = (path: string) => statSync(path).mode & 0o777;

describe("kube API TLS", () => {
  test("made at the first call (keys 0600, dir 0700), the same at the next", () => {
    const dataDir = makeTempDir();
    const first = loadOrCreateKubeTls(dataDir, "edge1", ["10.1.2.3", "0.0.0.0"]);
    const dir = kubeTlsDir(dataDir);
    expect(mode(dir)).toBe(0o700);
    expect(mode(join(dir, "ca.key"))).toBe(0o600);
    expect(mode(join(dir, "server.key"))).toBe(0o600);
    expect(readFileSync(join(dir, "ca.crt"), "utf8")).toBe(first.caPem);
    const again = loadOrCreateKubeTls(dataDir, "edge1", ["10.1.2.3"]);
    expect(again).toEqual(first);
    expect(loadOrCreateKubeCa(dataDir, "edge1").cert).toBe(first.caPem);

    const cert = new X509Certificate(first.cert);
    const ca = new X509Certificate(first.caPem);
    expect(ca.ca).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.verify(ca.publicKey)).toBe(true);
    for (const entry of [
      "IP Address:127.0.0.1",
      "IP Address:0:0:0:0:0:0:0:1",
      "DNS:localhost",
      "DNS:kubernetes.default.svc",
      "IP Address:10.1.2.3",
    ])
      expect(cert.subjectAltName).toContain(entry);
    expect(cert.subjectAltName).not.toContain("0.0.0.0");
  });

  test("a new address, a certificate near its end, or a replaced key: issued again (same CA)", () => {
    const dataDir = makeTempDir();
    const first = loadOrCreateKubeTls(dataDir, "edge1", ["10.1.2.3"]);
    const moved = loadOrCreateKubeTls(dataDir, "edge1", ["10.9.9.9", "fd00::5"]);
    expect(moved.cert).not.toBe(first.cert);
    expect(moved.caPem).toBe(first.caPem);
    expect(new X509Certificate(moved.cert).subjectAltName).toContain("IP Address:FD00:0:0:0:0:0:0:5");
    expect(loadOrCreateKubeTls(dataDir, "edge1", ["fd00:0::5"]).cert).toBe(moved.cert);

    const later = new Date(Date.now() + 300 * DAY);
    const renewed = loadOrCreateKubeTls(dataDir, "edge1", ["10.9.9.9"], later);
    expect(renewed.cert).not.toBe(moved.cert);
    expect(renewed.caPem).toBe(first.caPem);
    expect(renewed.expiresAt.getTime()).toBeGreaterThan(later.getTime() + 300 * DAY);

    writeFileSync(join(kubeTlsDir(dataDir), "server.key"), loadOrCreateKubeCa(dataDir, "edge1").key);
    const rekeyed = loadOrCreateKubeTls(dataDir, "edge1", ["10.9.9.9"], later);
    expect(rekeyed.cert).not.toBe(renewed.cert);
    expect(new X509Certificate(rekeyed.cert).checkPrivateKey(createPrivateKey(rekeyed.key))).toBe(true);
  });

  test("the CA is made again a year before it expires; the serving certificate follows", () => {
    const dataDir = makeTempDir();
    const first = loadOrCreateKubeTls(dataDir, "edge1", []);
    const nineYears = new Date(Date.now() + 9.2 * 365 * DAY);
    const next = loadOrCreateKubeTls(dataDir, "edge1", [], nineYears);
    expect(next.caPem).not.toBe(first.caPem);
    expect(new X509Certificate(next.cert).verify(new X509Certificate(next.caPem).publicKey)).toBe(true);
  });

  test("a TLS client that trusts only ca.crt accepts the listener at 127.0.0.1 and localhost", async () => {
    const dataDir = makeTempDir();
    const tls = loadOrCreateKubeTls(dataDir, "edge1", ["127.0.0.1"]);
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      tls: { cert: tls.cert, key: tls.key },
      fetch: () => new Response("ok"),
    });
    try {
      for (const host of ["127.0.0.1", "localhost"]) {
        const res = await fetch(`https://${host}:${server.port}/version`, { tls: { ca: tls.caPem } });
        expect(await res.text()).toBe("ok");
      }
      // Another CA's certificate is refused (the check is real).
      const other = loadOrCreateKubeTls(makeTempDir(), "edge2", []);
      const refused = await fetch(`https://127.0.0.1:${server.port}/`, { tls: { ca: other.caPem } }).then(
        () => "accepted",
        () => "refused",
      );
      expect(refused).toBe("refused");

      // Python's ssl, as the Kubernetes client's urllib3 uses it (verify + host name check).
      const python = "/usr/bin/python3";
      if (!existsSync(python)) return console.warn("skipped the Python check: no /usr/bin/python3");
      const caFile = join(dataDir, "ca-copy.crt");
      writeFileSync(caFile, tls.caPem);
      const script = [
        "import socket, ssl, sys",
        "ctx = ssl.create_default_context(cafile=sys.argv[1])",
        "with socket.create_connection(('127.0.0.1', int(sys.argv[2]))) as s:",
        "  with ctx.wrap_socket(s, server_hostname='127.0.0.1') as t: print(t.version())",
      ].join("\n");
      const run = Bun.spawn([python, "-c", script, caFile, String(server.port)], {
        stdout: "pipe",
        stderr: "pipe",
      });
      const [out, err, code] = await Promise.all([
        new Response(run.stdout).text(),
        new Response(run.stderr).text(),
        run.exited,
      ]);
      expect(code, err).toBe(0);
      expect(out).toMatch(/^TLSv1\.[23]/);
    } finally {
      server.stop(true);
    }
  });
});
