// Revoked node certificates: the pure list (fingerprints, expiry, bounds, the catalog-following
// check) and, over real sockets on loopback, the tunnel listener refusing a revoked client and
// closing the streams it had open, and the dialer refusing a revoked server.
import { afterEach, describe, expect, test } from "bun:test";
import { X509Certificate } from "node:crypto";
import { parseCatalog } from "../../../src/mesh/catalog/schema.ts";
import type { RevokedCertificate } from "../../../src/mesh/contracts.ts";
import {
  boundRevocations,
  catalogRevocations,
  certificateFingerprint,
  revocationCheck,
} from "../../../src/mesh/transport/revocation.ts";
import { TunnelDialer } from "../../../src/mesh/transport/tunnel-dialer.ts";
import { startTunnelServer, type TunnelServer } from "../../../src/mesh/transport/tunnel-server.ts";
import { catalogNode, echoService, readAll, testCa, waitFor, writeAll } from "./fixtures.ts";

const ca = testCa();
const A = ca.node("edgea");
const B = ca.node("edgeb");
const fingerprintOf = (pem: string) => certificateFingerprint(new X509Certificate(pem));
const NOW = Date.parse("2026-06-01T00:00:00Z");
const entry = (n: number, expiresAt: string): RevokedCertificate => ({
  fingerprint: n.toString(16).padStart(64, "0"),
  expiresAt,
});

describe("the revocation list", () => {
  test("a fingerprint is the SHA-256 of the DER, and differs between two certificates of one node", () => {
    const again = ca.node("edgea");
    expect(fingerprintOf(A.cert)).toMatch(/^[0-9a-f]{64}$/);
    expect(fingerprintOf(again.cert)).not.toBe(fingerprintOf(A.cert));
    expect(certificateFingerprint(new Uint8Array(new X509Certificate(A.cert).raw))).toBe(
      fingerprintOf(A.cert),
    );
  });

  test("expired entries are dropped, duplicates merged, the latest-expiring kept within the bound", () => {
    const list = [
      entry(1, "2026-05-31T00:00:00Z"), // expired
      entry(2, "2026-07-01T00:00:00Z"),
      entry(2, "2026-08-01T00:00:00Z"),
      entry(3, "2027-01-01T00:00:00Z"),
      entry(4, "2026-06-15T00:00:00Z"),
      { fingerprint: "f".repeat(64), expiresAt: "not a date" },
    ];
    expect(boundRevocations(list, NOW)).toEqual([
      entry(3, "2027-01-01T00:00:00Z"),
      entry(2, "2026-08-01T00:00:00Z"),
      entry(4, "2026-06-15T00:00:00Z"),
    ]);
    expect(boundRevocations(list, NOW, 2).map((e) => e.fingerprint)).toEqual([
      entry(3, "").fingerprint,
      entry(2, "").fingerprint,
    ]);
  });

  test("a check refuses a listed fingerprint only until its certificate would have expired", () => {
    let now = NOW;
    const check = revocationCheck([entry(5, "2026-06-02T00:00:00Z")], () => now);
    expect(check(entry(5, "").fingerprint)).toBe(true);
    expect(check(entry(6, "").fingerprint)).toBe(false);
    now = Date.parse("2026-06-02T00:00:01Z");
    expect(check(entry(5, "").fingerprint)).toBe(false);
  });

  test("the catalog's check follows the catalog as it changes", () => {
    let catalog: { revoked?: RevokedCertificate[] } | undefined;
    const check = catalogRevocations(
      () => catalog,
      () => NOW,
    );
    const fp = entry(7, "").fingerprint;
    expect(check(fp)).toBe(false);
    catalog = { revoked: [entry(7, "2027-01-01T00:00:00Z")] };
    expect(check(fp)).toBe(true);
    catalog = {};
    expect(check(fp)).toBe(false);
  });
});

describe("the list in the catalog", () => {
  const catalog = (revoked: unknown) =>
    JSON.stringify({ v: 1, revision: 1, epoch: "e", nodes: [], services: [], revoked });

  test("well-formed entries are accepted; a malformed fingerprint or date is refused by field", () => {
    const good = [entry(1, "2027-01-01T00:00:00.000Z")];
    expect(parseCatalog(catalog(good))).toEqual({
      ok: true,
      catalog: { v: 1, revision: 1, epoch: "e", nodes: [], services: [], revoked: good },
    });
    const badFingerprint = parseCatalog(catalog([{ fingerprint: "AB", expiresAt: "2027-01-01T00:00:00Z" }]));
    expect(badFingerprint).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^revoked\.0\.fingerprint/),
    });
    const badDate = parseCatalog(catalog([{ fingerprint: "a".repeat(64), expiresAt: "soon" }]));
    expect(badDate).toMatchObject({ ok: false, reason: expect.stringMatching(/^revoked\.0\.expiresAt/) });
  });
});

const servers: TunnelServer[] = [];

/** edgea's dialer to edgeb listening on `port`, holding `revoked` certificates revoked. */
function dialerTo(port: number, revoked?: (fingerprint: string) => boolean): TunnelDialer {
  return new TunnelDialer({
    node: "edgea",
    credentials: () => A,
    lookup: (n) => (n === "edgeb" ? catalogNode("edgeb", port) : undefined),
    relay: () => undefined,
    ...(revoked ? { revoked } : {}),
  });
}
afterEach(() => {
  for (const s of servers.splice(0)) s.stop();
});

describe("revoked certificates on the wire", () => {
  test("a revoked client is refused, and the stream it had open is closed on recheck", async () => {
    const revoked = new Set<string>();
    const echo = echoService();
    const refused: string[] = [];
    const server = startTunnelServer({
      listen: { host: "127.0.0.1", port: 0 },
      credentials: () => B,
      onStream: echo.onStream,
      onRefused: (reason) => refused.push(reason),
      authorize: (_peer, fingerprint) => !revoked.has(fingerprint),
    });
    servers.push(server);
    const dialer = dialerTo(server.port);
    const open = await dialer.dial({ kind: "node", node: "edgeb", service: "echo" });
    await waitFor("the stream", () => echo.streams.length === 1);
    expect(echo.streams[0]?.fingerprint).toBe(fingerprintOf(A.cert));
    const back = readAll(open);
    await writeAll(open, Buffer.from("before"));
    expect((await back).toString()).toBe("before");
    const second = await dialer.dial({ kind: "node", node: "edgeb", service: "echo" });
    const closed = new Promise<void>((resolve) => second.onClose(() => resolve()));
    await waitFor("the second stream", () => echo.streams.length === 2);
    expect(server.recheck()).toBe(0);

    revoked.add(fingerprintOf(A.cert));
    expect(server.recheck()).toBe(1);
    await closed;
    expect(refused).toContain("open tunnel stream closed: peer no longer authorized");
    // The refusal comes after the handshake: the dial may see the stream open, then closed.
    const third = await dialer.dial({ kind: "node", node: "edgeb", service: "echo" }).catch(() => undefined);
    await waitFor("the refusal", () => refused.some((r) => r.startsWith("node edgea is not authorized")));
    expect(echo.streams).toHaveLength(2);
    third?.destroy();
  });

  test("a dialer refuses a server presenting a revoked certificate", async () => {
    const echo = echoService();
    const server = startTunnelServer({
      listen: { host: "127.0.0.1", port: 0 },
      credentials: () => B,
      onStream: echo.onStream,
    });
    servers.push(server);
    const revoked = new Set([fingerprintOf(B.cert)]);
    const dialer = dialerTo(server.port, (fingerprint) => revoked.has(fingerprint));
    const error = (await dialer
      .dial({ kind: "node", node: "edgeb", service: "echo" })
      .catch((e) => e)) as Error;
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toMatch(/revoked certificate/);
    // A dialer that does not hold it revoked (a fresh one: the failed path is remembered) gets through.
    const trusting = dialerTo(server.port);
    const d = await trusting.dial({ kind: "node", node: "edgeb", service: "echo" });
    await waitFor("the stream", () => echo.streams.length === 1);
    d.destroy();
  });
});
