// The cloud's record of issued mesh certificates: deleting a node revokes every certificate issued
// to it, the catalog then lists them (until they expire), a node that joins again under the same
// name gets a certificate that is not revoked, and expired rows go.
import { afterAll, describe, expect, test } from "bun:test";
import { X509Certificate } from "node:crypto";
import { readCatalogInput } from "../../src/cloud/catalog/catalog-publisher.ts";
import { deriveCatalog } from "../../src/cloud/catalog/derive.ts";
import { nodeCa } from "../../src/cloud/node-ca.ts";
import {
  isRevoked,
  recordIssued,
  recordingNodeCa,
  revokedCertificates,
} from "../../src/cloud/node-certificates.ts";
import { deleteNode, joinNode } from "../../src/cloud/node-registry.ts";
import { createCa, newNodeKey } from "../../src/mesh/transport/certificates.ts";
import { certificateFingerprint } from "../../src/mesh/transport/revocation.ts";
import { mosquittoHasher } from "../../src/protocol/mosquitto-password.ts";
import { openStore } from "../../src/store/store.ts";
import { makeTempDir } from "../harness/cluster.ts";

const store = openStore({ dataDir: makeTempDir("node-certs"), mode: "cloud" });
afterAll(() => store.close());
const ca = recordingNodeCa(nodeCa(createCa()), store);
const fingerprintOf = (pem: string) => certificateFingerprint(new X509Certificate(pem));
const join = (name: string) =>
  joinNode(
    store,
    mosquittoHasher,
    { name, labels: {}, addresses: ["10.0.0.9"], agentVersion: "", arch: "" },
    () => {},
  );
const issue = (name: string) => ca.issue(name, ["10.0.0.9"], newNodeKey().publicKey);

describe("issued and revoked mesh certificates", () => {
  test("deleting a node revokes all its certificates, and only its; the catalog lists them", () => {
    join("edge1");
    join("edge2");
    const first = issue("edge2");
    const renewed = issue("edge2");
    const other = issue("edge1");
    expect(revokedCertificates(store)).toEqual([]);
    expect(deriveCatalog(readCatalogInput(store)).revoked).toBeUndefined();

    expect(deleteNode(store, "edge2")).toBe(true);
    const revoked = revokedCertificates(store).map((r) => r.fingerprint);
    expect(revoked.sort()).toEqual([fingerprintOf(first), fingerprintOf(renewed)].sort());
    expect(isRevoked(store, fingerprintOf(first))).toBe(true);
    expect(isRevoked(store, fingerprintOf(other))).toBe(false);
    const shipped = deriveCatalog(readCatalogInput(store)).revoked ?? [];
    expect(shipped.map((r) => r.fingerprint).sort()).toEqual(revoked.sort());
    expect(shipped[0]?.expiresAt).toBe(new Date(new X509Certificate(first).validTo).toISOString());
  });

  test("joining again under the deleted name: the new certificate is not revoked", () => {
    join("edge2");
    const fresh = issue("edge2");
    expect(isRevoked(store, fingerprintOf(fresh))).toBe(false);
    expect(revokedCertificates(store)).toHaveLength(2);
  });

  test("a revoked certificate past its expiry is neither listed nor refused, and its row goes", () => {
    join("edge3");
    const cert = issue("edge3");
    deleteNode(store, "edge3");
    const expiry = Date.parse(new X509Certificate(cert).validTo);
    expect(isRevoked(store, fingerprintOf(cert), expiry - 1000)).toBe(true);
    expect(isRevoked(store, fingerprintOf(cert), expiry + 1000)).toBe(false);
    expect(revokedCertificates(store, expiry + 1000).map((r) => r.fingerprint)).not.toContain(
      fingerprintOf(cert),
    );
    recordIssued(store, "edge1", issue("edge1"), new Date(expiry + 1000));
    const left = store.db
      .query<{ n: number }, [string]>("SELECT count(*) AS n FROM node_certificates WHERE fingerprint = ?")
      .get(fingerprintOf(cert));
    expect(left?.n).toBe(0);
  });
});
