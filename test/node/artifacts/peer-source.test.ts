// The peers-first artifact source with in-memory peers (each a real PeerServer over its own
// directory, connected through memory-duplex.ts) and the cloud as a local artifact directory:
// which peers are asked and in what order, each fallback (not-found, busy, a failed connect, a
// wrong size, a lying peer whose bytes fail the sha256, a transfer cut in the middle), resuming a
// partial file from a peer, the bytes counted by source, and the peer server's refusals.
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CatalogNode } from "../../../src/mesh/contracts.ts";
import { localArtifactSource } from "../../../src/node/artifacts/artifact-source.ts";
import { BandwidthLimit } from "../../../src/node/artifacts/bandwidth-limit.ts";
import { rankPeers } from "../../../src/node/artifacts/peer-directory.ts";
import { PeerServer } from "../../../src/node/artifacts/peer-server.ts";
import {
  type ArtifactPeers,
  type ByteSource,
  peerFirstSource,
} from "../../../src/node/artifacts/peer-source.ts";
import { createLogger } from "../../../src/runtime/log.ts";
import { makeTempDir } from "../../harness/cluster.ts";
import { payload } from "../../mesh/transport/fixtures.ts";
import { downloadFrom } from "./download-helper.ts";
import { memoryPair } from "./memory-duplex.ts";

const log = createLogger({ level: "error", format: "json", write: () => {} });
const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

const DATA = payload(300_000, 3);
const SHA = sha(DATA);

/** A directory holding `files` (name → bytes). */
function dirWith(files: Record<string, Uint8Array>): string {
  const dir = makeTempDir();
  mkdirSync(dir, { recursive: true });
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
  return dir;
}

type PeerSpec = {
  files?: Record<string, Uint8Array>;
  connect?: "fails";
  maxUploads?: number;
  cutAfter?: number;
};

/** Peers by name, each a PeerServer over its own directory; records who was asked, in order. */
function fakePeers(specs: Record<string, PeerSpec>, order = Object.keys(specs)) {
  const asked: string[] = [];
  const servers = new Map<string, PeerServer>();
  for (const [name, spec] of Object.entries(specs))
    servers.set(
      name,
      new PeerServer({
        dir: dirWith(spec.files ?? {}),
        log,
        ...(spec.maxUploads ? { maxUploads: spec.maxUploads } : {}),
      }),
    );
  const peers: ArtifactPeers = {
    candidates: () => order,
    async open(node, sha256, from) {
      asked.push(node);
      const spec = specs[node];
      if (!spec || spec.connect === "fails") throw new Error(`connect ${node}: ECONNREFUSED`);
      const [client, server] = memoryPair();
      const cut = spec.cutAfter;
      if (cut !== undefined) {
        // The transfer breaks after `cut` bytes of body have been sent.
        let sent = 0;
        const write = server.write.bind(server);
        server.write = (chunk) => {
          sent += chunk.byteLength;
          if (sent > cut + 64) {
            queueMicrotask(() => server.destroy(new Error("cut")));
            return write(chunk.subarray(0, Math.max(0, chunk.byteLength - (sent - cut - 64))));
          }
          return write(chunk);
        };
      }
      void servers.get(node)?.serve({ sha256, from, peer: "asker", via: "direct", duplex: server });
      return client;
    },
  };
  return { peers, asked, servers };
}

function setup(
  specs: Record<string, PeerSpec>,
  cloudFiles: Record<string, Uint8Array> = { [SHA]: DATA },
  now: () => number = Date.now,
) {
  const fake = fakePeers(specs);
  const bytes: Record<ByteSource, number> = { peer: 0, cloud: 0 };
  const skipped: string[] = [];
  const source = peerFirstSource({
    peers: fake.peers,
    cloud: localArtifactSource(dirWith(cloudFiles)),
    onBytes: (s, n) => {
      bytes[s] += n;
    },
    onSkip: (node, _sha, reason) => skipped.push(`${node}: ${reason}`),
    now,
  });
  return { ...fake, source, bytes, skipped };
}

const fetchWith = (source: ReturnType<typeof setup>["source"], partial: string, expectedSize?: number) =>
  downloadFrom(source, SHA, partial, expectedSize);

describe("peers-first source", () => {
  test("a peer that has it serves it: byte-exact, nothing from the cloud", async () => {
    const s = setup({ a: { files: { [SHA]: DATA } } });
    const partial = join(makeTempDir(), "x.partial");
    expect(await fetchWith(s.source, partial, DATA.byteLength)).toBe(DATA.byteLength);
    expect(sha(readFileSync(partial))).toBe(SHA);
    expect(s.bytes).toEqual({ peer: DATA.byteLength, cloud: 0 });
    expect(s.asked).toEqual(["a"]);
  });

  test("not-found, a failed connect, busy: skipped in order; at most 3 asked; then the cloud", async () => {
    const s = setup({
      a: {},
      b: { connect: "fails" },
      c: { files: { [SHA]: DATA }, maxUploads: 1 },
      d: { files: { [SHA]: DATA } },
    });
    // c is busy: one transfer of its own already runs (held by the bandwidth cap of a slow server).
    const busy = new PeerServer({
      dir: dirWith({ [SHA]: DATA }),
      log,
      maxUploads: 1,
      bandwidth: new BandwidthLimit(20_000),
    });
    s.servers.set("c", busy);
    const [held, heldServer] = memoryPair();
    void busy.serve({ sha256: SHA, from: 0, peer: "other", via: "direct", duplex: heldServer });
    expect(busy.uploads).toBe(1);
    const partial = join(makeTempDir(), "x.partial");
    await fetchWith(s.source, partial, DATA.byteLength);
    expect(sha(readFileSync(partial))).toBe(SHA);
    expect(s.asked).toEqual(["a", "b", "c"]);
    expect(s.skipped[0]).toMatch(/^a: it has no verified copy/);
    expect(s.skipped[1]).toMatch(/^b: .*ECONNREFUSED/);
    expect(s.skipped[2]).toMatch(/^c: it is busy/);
    expect(s.bytes).toEqual({ peer: 0, cloud: DATA.byteLength });
    held.destroy();
  });

  test("a peer whose copy has another size than the reference is skipped before any byte", async () => {
    const s = setup({ a: { files: { [SHA]: DATA.subarray(0, 1000) } } });
    const partial = join(makeTempDir(), "x.partial");
    await fetchWith(s.source, partial, DATA.byteLength);
    expect(s.skipped[0]).toMatch(/announced 1000 bytes, the reference says 300000/);
    expect(s.bytes.peer).toBe(0);
  });

  test("a lying peer: its bytes fail the sha256 and the retry comes from the cloud", async () => {
    const lie = payload(DATA.byteLength, 99); // the right size, other bytes
    const s = setup({ a: { files: { [SHA]: lie } } });
    const partial = join(makeTempDir(), "x.partial");
    await fetchWith(s.source, partial, DATA.byteLength);
    expect(sha(readFileSync(partial))).toBe(SHA);
    expect(s.asked).toEqual(["a"]);
    expect(s.bytes).toEqual({ peer: DATA.byteLength, cloud: DATA.byteLength });
  });

  test("a transfer cut in the middle resumes from the partial file at the next source", async () => {
    const s = setup({ a: { files: { [SHA]: DATA }, cutAfter: 100_000 }, b: { files: { [SHA]: DATA } } });
    const partial = join(makeTempDir(), "x.partial");
    await fetchWith(s.source, partial, DATA.byteLength);
    expect(sha(readFileSync(partial))).toBe(SHA);
    expect(s.asked).toEqual(["a", "b"]);
    expect(s.bytes.cloud).toBe(0);
    // b sent only the rest: nothing was received twice.
    expect(s.bytes.peer).toBe(DATA.byteLength);
  });

  test("a partial file is resumed from a peer (the request names its offset)", async () => {
    const s = setup({ a: { files: { [SHA]: DATA } } });
    const partial = join(makeTempDir(), "x.partial");
    writeFileSync(partial, DATA.subarray(0, 123_456));
    await fetchWith(s.source, partial, DATA.byteLength);
    expect(sha(readFileSync(partial))).toBe(SHA);
    expect(s.bytes).toEqual({ peer: DATA.byteLength - 123_456, cloud: 0 });
  });

  test("a skipped peer is asked again after 30 s; one that sent bytes not for 10 minutes", async () => {
    let clock = 1_000_000;
    const s = setup({ a: {}, b: { files: { [SHA]: DATA } } }, { [SHA]: DATA }, () => clock);
    const partialOf = () => join(makeTempDir(), "x.partial");
    await fetchWith(s.source, partialOf(), DATA.byteLength);
    expect(s.asked).toEqual(["a", "b"]);
    clock += 10_000;
    await fetchWith(s.source, partialOf(), DATA.byteLength); // both paused: the cloud
    expect(s.asked).toEqual(["a", "b"]);
    clock += 25_000;
    await fetchWith(s.source, partialOf(), DATA.byteLength); // a again; b still paused
    expect(s.asked).toEqual(["a", "b", "a"]);
    expect(s.bytes).toEqual({ peer: DATA.byteLength, cloud: 2 * DATA.byteLength });
    clock += 10 * 60_000;
    await fetchWith(s.source, partialOf(), DATA.byteLength);
    expect(s.asked).toEqual(["a", "b", "a", "a", "b"]);
  });

  test("unknown everywhere: the cloud's not-found is final", async () => {
    const s = setup({ a: {} }, {});
    const partial = join(makeTempDir(), "x.partial");
    await expect(fetchWith(s.source, partial, DATA.byteLength)).rejects.toThrow(/not stored/);
  });
});

describe("peer server", () => {
  async function ask(server: PeerServer, sha256: string, from = 0, via: "direct" | "relay" = "direct") {
    const [client, end] = memoryPair();
    void server.serve({ sha256, from, peer: "p", via, duplex: end });
    const chunks: Uint8Array[] = [];
    await new Promise<void>((resolve) => {
      client.onData((c) => chunks.push(c));
      client.onEnd(() => resolve());
    });
    client.destroy();
    return Buffer.concat(chunks);
  }

  test("only a complete blob under its sha256 name; offsets; not through the relay", async () => {
    const other = payload(10, 5);
    const server = new PeerServer({
      dir: dirWith({ [SHA]: DATA, [`${sha(other)}.partial`]: other }),
      log,
    });
    const whole = await ask(server, SHA);
    const head = "LEVEE-ARTIFACT/1 ok size=300000\n";
    expect(whole.subarray(0, head.length).toString()).toBe(head);
    expect(sha(whole.subarray(head.length))).toBe(SHA);
    const tail = await ask(server, SHA, 299_990);
    expect(tail.subarray(head.length).equals(Buffer.from(DATA.subarray(299_990)))).toBe(true);
    expect((await ask(server, SHA, 300_000)).toString()).toBe("LEVEE-ARTIFACT/1 unsatisfiable size=300000\n");
    expect((await ask(server, sha(other))).toString()).toBe("LEVEE-ARTIFACT/1 not-found\n");
    expect((await ask(server, "0".repeat(64))).toString()).toBe("LEVEE-ARTIFACT/1 not-found\n");
    expect((await ask(server, SHA, 0, "relay")).toString()).toBe("LEVEE-ARTIFACT/1 not-found\n");
  });
});

describe("which peers", () => {
  const node = (name: string, role: "edge" | "cloud" = "edge", state = "Ready"): CatalogNode =>
    ({ name, role, state, addresses: ["10.0.0.1"], labels: {}, tunnelPort: 1 }) as CatalogNode;

  test("edges other than this one, Ready, direct path not down; known ones nearest first, then the rest", () => {
    const distances: Record<string, number> = { far: 40, near: 3, down: 1 };
    const ranked = rankPeers(
      "me",
      [
        node("me"),
        node("cloud", "cloud"),
        node("lost", "edge", "Lost"),
        node("far"),
        node("new2"),
        node("near"),
        node("down"),
        node("new1"),
      ],
      { directDown: (n) => n === "down", distance: (n) => distances[n] },
    );
    expect(ranked).toEqual(["near", "far", "new1", "new2"]);
  });

  test("a transfer the asker breaks off is counted with the bytes it sent", async () => {
    const served: number[] = [];
    const server = new PeerServer({
      dir: dirWith({ [SHA]: DATA }),
      log,
      bandwidth: new BandwidthLimit(200_000),
      onServed: (bytes) => served.push(bytes),
    });
    const [asker, serverEnd] = memoryPair();
    let received = 0;
    asker.onData((chunk) => {
      received += chunk.byteLength;
    });
    asker.resume();
    const serving = server.serve({ sha256: SHA, from: 0, peer: "other", via: "direct", duplex: serverEnd });
    // The cap lets the file out a chunk at a time over about 1.5 s: break off once bytes flowed.
    while (received < 40_000) await Bun.sleep(20);
    asker.destroy(new Error("gone"));
    await serving;
    expect(received).toBeGreaterThan(0);
    expect(served).toHaveLength(1);
    expect(served[0]).toBeGreaterThan(0);
    expect(served[0]).toBeLessThan(DATA.length);
  });
});
