// The DER encoder and the certificates built with it, read back by node:crypto's X509Certificate
// (and by the openssl command line where it is installed, as an independent parser).
import { describe, expect, test } from "bun:test";
import { createPrivateKey, generateKeyPairSync, X509Certificate } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import {
  createCa,
  issueNodeCertificate,
  nodePublicKeyProblem,
  signNodeCertificate,
} from "../../../src/mesh/transport/certificates.ts";
import {
  children,
  oid,
  readElement,
  smallInteger,
  time,
  unsignedInteger,
} from "../../../src/mesh/transport/der.ts";
import { checkNodeCertificate, nodeNameOf } from "../../../src/mesh/transport/node-tls.ts";
import { opensslAvailable } from "../../harness/certs.ts";
import { makeTempDir } from "../../harness/cluster.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const DAY = 24 * 3600_000;

describe("DER", () => {
  test("integers: minimal, non-negative, sign byte when the top bit is set", () => {
    expect(hex(smallInteger(0))).toBe("020100");
    expect(hex(smallInteger(127))).toBe("02017f");
    expect(hex(smallInteger(128))).toBe("02020080");
    expect(hex(smallInteger(256))).toBe("02020100");
    expect(hex(unsignedInteger(Uint8Array.of(0, 0, 5)))).toBe("020105");
    expect(() => smallInteger(-1)).toThrow();
  });

  test("integers round-trip for any magnitude (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 40 }), (bytes) => {
        const el = readElement(unsignedInteger(bytes));
        expect(el.tag).toBe(0x02);
        const value = BigInt(`0x${hex(el.content) || "0"}`);
        expect(value).toBe(BigInt(`0x${hex(bytes) || "0"}`));
        // minimal: no leading 0x00 unless the next byte has its top bit set
        if (el.content.length > 1 && el.content[0] === 0) expect((el.content[1] ?? 0) & 0x80).toBe(0x80);
      }),
    );
  });

  test("object identifiers and long lengths", () => {
    expect(hex(oid("1.2.840.10045.4.3.2"))).toBe("06082a8648ce3d040302");
    expect(hex(oid("2.5.29.17"))).toBe("0603551d11");
    expect(() => oid("3.1")).toThrow();
    const long = unsignedInteger(new Uint8Array(300).fill(1));
    expect(hex(long.subarray(0, 4))).toBe("0282012c");
    expect(readElement(long).content.length).toBe(300);
  });

  test("times: UTCTime until 2049, GeneralizedTime from 2050", () => {
    expect(
      Buffer.from(time(new Date("2049-12-31T23:59:59.900Z")))
        .toString("latin1")
        .slice(2),
    ).toBe("491231235959Z");
    expect(time(new Date("2049-01-01T00:00:00Z"))[0]).toBe(0x17);
    const g = time(new Date("2050-01-01T00:00:00Z"));
    expect(g[0]).toBe(0x18);
    expect(Buffer.from(g).toString("latin1").slice(2)).toBe("20500101000000Z");
  });

  test("truncated input is an error, not a crash", () => {
    expect(() => readElement(Uint8Array.of(0x30, 0x05, 0x01))).toThrow(/longer than its input/);
    expect(() => children(Uint8Array.of(0x30))).toThrow(/truncated/);
  });
});

describe("cluster CA and node certificates", () => {
  const ca = createCa();
  const caCert = new X509Certificate(ca.cert);
  const addresses = [
    "127.0.0.11",
    "10.1.2.3",
    "::1",
    "2001:db8::8a2e:370:7334",
    "::ffff:10.0.0.1",
    "edge1.example",
  ];
  const issued = issueNodeCertificate(ca, { node: "edge1", addresses });
  const cert = new X509Certificate(issued.cert);

  test("the CA is a self-signed CA valid for ten years", () => {
    expect(caCert.ca).toBe(true);
    expect(caCert.verify(caCert.publicKey)).toBe(true);
    expect(caCert.subject).toContain("CN=levee cluster CA");
    const years = (Date.parse(caCert.validTo) - Date.now()) / (365 * DAY);
    expect(years).toBeGreaterThan(9.9);
    expect(years).toBeLessThan(10.1);
    expect(caCert.publicKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
  });

  test("a node certificate chains to the CA and names the node and its addresses", () => {
    expect(cert.checkIssued(caCert)).toBe(true);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.subject).toContain("CN=edge1");
    expect(cert.subjectAltName?.split(", ")[0]).toBe("DNS:edge1.node.levee");
    for (const ip of ["127.0.0.11", "10.1.2.3", "::1", "2001:db8::8a2e:370:7334"])
      expect(cert.checkIP(ip)).toBe(ip);
    expect(cert.checkIP("::ffff:10.0.0.1")).toBeDefined();
    expect(cert.checkHost("edge1.example")).toBe("edge1.example");
    expect(cert.checkHost("edge1.node.levee")).toBe("edge1.node.levee");
    expect(cert.checkHost("edge2.node.levee")).toBeUndefined();
    expect(cert.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]); // serverAuth, clientAuth
    expect(nodeNameOf(cert)).toBe("edge1");
  });

  test("a dotted node name (a DNS subdomain) is named whole: cloud.kubeedge.node.levee", () => {
    const dotted = new X509Certificate(issueNodeCertificate(ca, { node: "cloud.kubeedge", addresses }).cert);
    expect(dotted.subjectAltName?.split(", ")[0]).toBe("DNS:cloud.kubeedge.node.levee");
    expect(dotted.checkHost("cloud.kubeedge.node.levee")).toBe("cloud.kubeedge.node.levee");
    expect(dotted.checkHost("kubeedge.node.levee")).toBeUndefined();
    expect(nodeNameOf(dotted)).toBe("cloud.kubeedge");
    const der = new Uint8Array(dotted.raw);
    expect(checkNodeCertificate(der, ca.cert, "cloud.kubeedge")).toMatchObject({
      ok: true,
      node: "cloud.kubeedge",
    });
    expect(checkNodeCertificate(der, ca.cert, "cloud")).toMatchObject({ ok: false });
    // The longest node name Kubernetes allows: 253 characters, labels of 63.
    const longest = `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(61)}`;
    expect(longest.length).toBe(253);
    const long = new X509Certificate(issueNodeCertificate(ca, { node: longest, addresses: [] }).cert);
    expect(nodeNameOf(long)).toBe(longest);
  });

  test("an address under .node.levee never becomes a SAN: it would name another node", () => {
    const claimed = ["edge2.node.levee", "EDGE2.Node.Levee", "node.levee", "10.0.0.9"];
    const sneaky = new X509Certificate(issueNodeCertificate(ca, { node: "edge1", addresses: claimed }).cert);
    expect(sneaky.subjectAltName).toBe("DNS:edge1.node.levee, IP Address:10.0.0.9");
    expect(sneaky.checkHost("edge2.node.levee")).toBeUndefined();
    expect(nodeNameOf(sneaky)).toBe("edge1");
  });

  test("a node certificate is valid from a day back for a year, with a fresh key", () => {
    const from = Date.parse(cert.validFrom);
    const to = Date.parse(cert.validTo);
    expect(Date.now() - from).toBeGreaterThan(DAY - 60_000);
    expect(Date.now() - from).toBeLessThan(DAY + 60_000);
    expect(Math.abs(to - Date.now() - 365 * DAY)).toBeLessThan(60_000);
    expect(cert.checkPrivateKey(createPrivateKey(issued.key))).toBe(true);
    const again = new X509Certificate(issueNodeCertificate(ca, { node: "edge1", addresses }).cert);
    expect(again.serialNumber).not.toBe(cert.serialNumber);
    expect(again.publicKey.export({ format: "pem", type: "spki" })).not.toBe(
      cert.publicKey.export({ format: "pem", type: "spki" }),
    );
  });

  test("another CA's certificate does not verify", () => {
    const other = createCa();
    const foreign = new X509Certificate(issueNodeCertificate(other, { node: "edge1", addresses: [] }).cert);
    expect(foreign.checkIssued(caCert)).toBe(false);
    expect(foreign.verify(caCert.publicKey)).toBe(false);
  });

  test("only EC P-256 public keys are signed", () => {
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey;
    const p384 = generateKeyPairSync("ec", { namedCurve: "secp384r1" }).publicKey;
    expect(() => signNodeCertificate(ca, rsa, { node: "x", addresses: [] })).toThrow(/EC P-256/);
    expect(() => signNodeCertificate(ca, p384, { node: "x", addresses: [] })).toThrow(/EC P-256/);
    expect(nodePublicKeyProblem("not a key")).toMatch(/not a PEM public key/);
    expect(nodePublicKeyProblem(p384.export({ type: "spki", format: "pem" }).toString())).toMatch(/P-256/);
  });

  test("checkNodeCertificate: CA, validity, not a CA, the expected node", () => {
    const der = new Uint8Array(cert.raw);
    expect(checkNodeCertificate(der, ca.cert, "edge1")).toMatchObject({ ok: true, node: "edge1" });
    expect(checkNodeCertificate(der, ca.cert, "edge2")).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/edge1's, not edge2's/),
    });
    expect(checkNodeCertificate(der, createCa().cert, "edge1")).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/not issued/),
    });
    expect(checkNodeCertificate(der, ca.cert, "edge1", Date.now() + 400 * DAY)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/not valid now/),
    });
    expect(checkNodeCertificate(new Uint8Array(caCert.raw), ca.cert, "edge1")).toMatchObject({ ok: false });
    expect(checkNodeCertificate(Uint8Array.of(1, 2, 3), ca.cert, "edge1")).toMatchObject({
      ok: false,
      reason: "not a certificate",
    });
  });

  test.skipIf(!opensslAvailable())("openssl verifies the chain for TLS clients and servers", () => {
    const dir = makeTempDir();
    writeFileSync(join(dir, "ca.pem"), ca.cert);
    writeFileSync(join(dir, "node.pem"), issued.cert);
    for (const purpose of ["sslclient", "sslserver"]) {
      const run = Bun.spawnSync([
        "openssl",
        "verify",
        "-CAfile",
        join(dir, "ca.pem"),
        "-purpose",
        purpose,
        join(dir, "node.pem"),
      ]);
      expect(run.stdout.toString()).toContain("node.pem: OK");
    }
    const text = Bun.spawnSync([
      "openssl",
      "x509",
      "-noout",
      "-text",
      "-in",
      join(dir, "ca.pem"),
    ]).stdout.toString();
    expect(text).toContain("CA:TRUE, pathlen:0");
    expect(text).toContain("Certificate Sign, CRL Sign");
    const node = Bun.spawnSync([
      "openssl",
      "x509",
      "-noout",
      "-text",
      "-in",
      join(dir, "node.pem"),
    ]).stdout.toString();
    expect(node).toContain("CA:FALSE");
    expect(node).toContain("Digital Signature");
    expect(node).toContain("TLS Web Server Authentication, TLS Web Client Authentication");
  });
});
