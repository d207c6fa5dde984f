// Fetching an artifact from a peer over real mesh tunnel sockets on loopback (mutual TLS with node
// certificates from a test CA): a peer serves a verified blob of its cache from an offset (a
// download resuming its partial file), answers not-found for a partial download or an unknown
// sha256 (the asker then takes the cloud's copy), busy beyond its upload limit; a transfer to a node
// no longer authorized (revoked) is cut; a node without
// --peer-fetch answers not-found.
import { afterEach, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CatalogNode } from "../../../src/mesh/contracts.ts";
import { TunnelDialer } from "../../../src/mesh/transport/tunnel-dialer.ts";
import { startTunnelServer, type TunnelServer } from "../../../src/mesh/transport/tunnel-server.ts";
import { localArtifactSource } from "../../../src/node/artifacts/artifact-source.ts";
import { BandwidthLimit } from "../../../src/node/artifacts/bandwidth-limit.ts";
import { PeerDirectory } from "../../../src/node/artifacts/peer-directory.ts";
import { PeerServer } from "../../../src/node/artifacts/peer-server.ts";
import { type ByteSource, peerFirstSource, readAnswer } from "../../../src/node/artifacts/peer-source.ts";
import { createLogger } from "../../../src/runtime/log.ts";
import { makeTempDir } from "../../harness/cluster.ts";
import { catalogNode, payload, testCa } from "../../mesh/transport/fixtures.ts";
import { downloadFrom } from "./download-helper.ts";

const log = createLogger({ level: "error", format: "json", write: () => {} });
const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const ca = testCa();
const ASKER = ca.node("edgea");
const PEER = ca.node("edgeb");

const DATA = payload(2_000_000, 11);
const SHA = sha(DATA);
const PARTIAL_ONLY = payload(5000, 12);

const servers: TunnelServer[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.stop();
});

/** edgeb's tunnel listener serving its cache dir (with the blob, and a partial download of another). */
function peerNode(
  options: { serve?: boolean; maxUploads?: number; bandwidth?: number; authorize?: () => boolean } = {},
) {
  const dir = makeTempDir();
  writeFileSync(join(dir, SHA), DATA);
  writeFileSync(join(dir, `${sha(PARTIAL_ONLY)}.partial`), PARTIAL_ONLY);
  const server = new PeerServer({
    dir,
    log,
    ...(options.maxUploads ? { maxUploads: options.maxUploads } : {}),
    ...(options.bandwidth ? { bandwidth: new BandwidthLimit(options.bandwidth) } : {}),
  });
  const tunnel = startTunnelServer({
    listen: { host: "127.0.0.1", port: 0 },
    credentials: () => PEER,
    onStream: (s) => s.duplex.destroy(),
    ...(options.authorize ? { authorize: options.authorize } : {}),
    ...(options.serve === false ? {} : { onArtifact: (request) => void server.serve(request) }),
  });
  servers.push(tunnel);
  return { server, tunnel };
}

function askerOf(peerPort: number) {
  const nodes: CatalogNode[] = [catalogNode("edgea", 1), catalogNode("edgeb", peerPort)];
  const dialer = new TunnelDialer({
    node: "edgea",
    credentials: () => ASKER,
    lookup: (name) => nodes.find((n) => n.name === name),
    relay: () => undefined,
  });
  const directory = new PeerDirectory();
  directory.attach({ self: "edgea", nodes: () => nodes, dialer });
  return { dialer, directory };
}

function sourceWith(directory: PeerDirectory, cloudFiles: Record<string, Uint8Array>) {
  const cloudDir = makeTempDir();
  for (const [name, bytes] of Object.entries(cloudFiles)) writeFileSync(join(cloudDir, name), bytes);
  const bytes: Record<ByteSource, number> = { peer: 0, cloud: 0 };
  const source = peerFirstSource({
    peers: directory,
    cloud: localArtifactSource(cloudDir),
    onBytes: (s, n) => {
      bytes[s] += n;
    },
  });
  return { source, bytes };
}

const fetch = (
  source: ReturnType<typeof sourceWith>["source"],
  sha256: string,
  partial: string,
  size: number,
) => downloadFrom(source, sha256, partial, size);

async function answerOf(dialer: TunnelDialer, sha256: string, from = 0) {
  const duplex = await dialer.openArtifact("edgeb", sha256, from);
  const { answer } = await readAnswer(duplex, new AbortController().signal);
  duplex.destroy();
  return answer;
}

describe("artifacts from a peer over the mesh tunnel", () => {
  test("a cached blob from an offset: the partial download completes byte-exact, nothing from the cloud", async () => {
    const { tunnel, server } = peerNode();
    const { directory } = askerOf(tunnel.port);
    const { source, bytes } = sourceWith(directory, { [SHA]: DATA });
    const partial = join(makeTempDir(), `${SHA}.partial`);
    writeFileSync(partial, DATA.subarray(0, 700_000));
    expect(await fetch(source, SHA, partial, DATA.byteLength)).toBe(DATA.byteLength);
    expect(sha(readFileSync(partial))).toBe(SHA);
    expect(bytes).toEqual({ peer: DATA.byteLength - 700_000, cloud: 0 });
    expect(server.uploads).toBe(0);
  });

  test("a partial download or an unknown sha256 is not served: the cloud's copy is taken", async () => {
    const { tunnel } = peerNode();
    const { dialer, directory } = askerOf(tunnel.port);
    expect(await answerOf(dialer, sha(PARTIAL_ONLY))).toEqual({ kind: "not-found" });
    expect(await answerOf(dialer, "f".repeat(64))).toEqual({ kind: "not-found" });
    expect(await answerOf(dialer, SHA, DATA.byteLength)).toEqual({
      kind: "unsatisfiable",
      size: DATA.byteLength,
    });
    const { source, bytes } = sourceWith(directory, { [sha(PARTIAL_ONLY)]: PARTIAL_ONLY });
    const partial = join(makeTempDir(), "p.partial");
    await fetch(source, sha(PARTIAL_ONLY), partial, PARTIAL_ONLY.byteLength);
    expect(bytes).toEqual({ peer: 0, cloud: PARTIAL_ONLY.byteLength });
  });

  test("busy beyond the upload limit; free again once a transfer ended", async () => {
    // 200 KB/s: a 2 MB transfer takes ~10 s, so it is still running while the second asks.
    const { tunnel, server } = peerNode({ maxUploads: 1, bandwidth: 200_000 });
    const { dialer } = askerOf(tunnel.port);
    const first = await dialer.openArtifact("edgeb", SHA, 0);
    const { answer } = await readAnswer(first, new AbortController().signal);
    expect(answer).toEqual({ kind: "ok", size: DATA.byteLength });
    expect(server.uploads).toBe(1);
    expect(await answerOf(dialer, SHA)).toEqual({ kind: "busy" });
    first.destroy();
    const deadline = Date.now() + 5000;
    while (server.uploads > 0 && Date.now() < deadline) await Bun.sleep(20);
    expect(server.uploads).toBe(0);
    expect((await answerOf(dialer, SHA, DATA.byteLength - 10)).kind).toBe("ok");
  });

  test("a transfer to a node whose certificate is revoked meanwhile is cut by the recheck", async () => {
    let authorized = true;
    const { tunnel, server } = peerNode({ bandwidth: 200_000, authorize: () => authorized });
    const { dialer } = askerOf(tunnel.port);
    const duplex = await dialer.openArtifact("edgeb", SHA, 0);
    const { answer } = await readAnswer(duplex, new AbortController().signal);
    expect(answer.kind).toBe("ok");
    const closed = new Promise<void>((resolve) => duplex.onClose(() => resolve()));
    duplex.resume();
    authorized = false;
    expect(tunnel.recheck()).toBe(1);
    await closed;
    const deadline = Date.now() + 5000;
    while (server.uploads > 0 && Date.now() < deadline) await Bun.sleep(20);
    expect(server.uploads).toBe(0);
  });

  test("a node that does not serve artifacts answers not-found", async () => {
    const { tunnel } = peerNode({ serve: false });
    const { dialer } = askerOf(tunnel.port);
    expect(await answerOf(dialer, SHA)).toEqual({ kind: "not-found" });
  });
});
