// Artifacts end to end with a real cloud process: a 200 MB file (generated here, not committed) is
// pushed with `levee ctl artifact push`, then fetched by the artifact caches of two joined edges
// (their own data dirs, node credentials and cloud URL, opened after the edge agents stopped):
//   - once per node, however many concurrent ensure() calls (counted in the cloud's own log);
//   - through a proxy that cuts the connection half-way: the download resumes with a Range request
//     for exactly the rest (no byte is transferred twice);
//   - through a proxy that flips a byte: rejected by the sha256 check and fetched again;
// and every final file is byte-exact.
import { describe, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { mountsSchema } from "../../src/manifest/mounts.ts";
import { ArtifactCache } from "../../src/node/artifacts/artifact-cache.ts";
import { httpArtifactSource } from "../../src/node/artifacts/artifact-source.ts";
import { storedIdentity } from "../../src/node/identity.ts";
import { createLogger } from "../../src/runtime/log.ts";
import { openStore, type Store } from "../../src/store/store.ts";
import { applyManifest, makeTempDir, runLevee, withCluster } from "../harness/cluster.ts";
import { startFaultProxy } from "../harness/fault-proxy.ts";

const SIZE = 200 * 1024 * 1024;
const HALF = SIZE / 2;
const log = createLogger({ level: "error", format: "json", write: () => {} });

/** Writes SIZE random bytes to a file in 8 MiB chunks; returns the path and its sha256. */
async function generate(): Promise<{ path: string; sha256: string }> {
  const path = join(makeTempDir("levee-artifact-"), "model.bin");
  const hash = createHash("sha256");
  const writer = Bun.file(path).writer();
  for (let written = 0; written < SIZE; written += 8 * 1024 * 1024) {
    const chunk = randomBytes(Math.min(8 * 1024 * 1024, SIZE - written));
    hash.update(chunk);
    writer.write(chunk);
    await writer.flush();
  }
  await writer.end();
  return { path, sha256: hash.digest("hex") };
}

/** A process's peak resident memory (VmHWM), bytes. */
function peakRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]) * 1024;
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of Bun.file(path).stream()) hash.update(chunk);
  return hash.digest("hex");
}

describe("artifacts end to end", () => {
  test("200 MB: pushed once, fetched once per node, resumed after a cut, a corrupt transfer refetched", async () => {
    const file = await generate();
    await withCluster({ edges: 2 }, async (c) => {
      const ctl = (args: string[]) =>
        runLevee(["ctl", ...args, "--server", c.cloud.apiUrl, "--token", c.cloud.adminToken], {
          timeoutMs: 120_000,
        });
      const pushed = await ctl(["artifact", "push", file.path, "--name", "detector.onnx"]);
      expect(pushed.stderr).toBe("");
      expect(pushed.code).toBe(0);
      const lines = pushed.stdout.trimEnd().split("\n");
      expect(lines.at(-1)).toBe(file.sha256);
      expect(lines[0]).toBe("artifact detector.onnx: created (200.0 MiB)");
      const snippet = parse(lines.slice(2, -1).join("\n")) as { mounts: unknown };
      expect(mountsSchema.safeParse(snippet.mounts).success).toBe(true);
      // The upload was streamed: the cloud never held the 200 MB (its peak RSS stays well below).
      expect(peakRssBytes(c.cloud.process.proc.pid)).toBeLessThan(SIZE);
      const listed = await ctl(["artifact", "ls"]);
      expect(listed.stdout).toContain(`${file.sha256}   detector.onnx   200.0 MiB`);

      // The edges' own data dirs: stop the agents (the data dir is locked while they run).
      const stores: Store[] = [];
      try {
        for (const e of c.edges) {
          await e.stop();
          stores.push(openStore({ dataDir: e.dataDir, mode: "edge" }));
        }
        // A node reads only the artifacts its plan mounts: plan it on both (stopped) edges.
        await applyManifest(
          c,
          `apiVersion: levee/v1\nkind: Service\nmetadata: {name: detector}\nspec:\n  template: {command: [sleep, "60"], mounts: [{artifact: {sha256: "${file.sha256}"}, envName: MODEL}]}\n  workers: [{node: edge1}, {node: edge2}]\n`,
        );
        const ref = { sha256: file.sha256, name: "detector.onnx", size: SIZE };

        // Once per node: the default source (the cloud-url and credentials the edge stored at join).
        const caches = c.edges.map(
          (e, i) => new ArtifactCache({ store: stores[i] as Store, dataDir: e.dataDir, log }),
        );
        const paths = await Promise.all(
          caches.flatMap((cache) => Array.from({ length: 4 }, () => cache.ensure(ref))),
        );
        for (const [i, e] of c.edges.entries()) {
          const expected = join(e.dataDir, "cache", "artifacts", file.sha256);
          expect(paths.slice(i * 4, i * 4 + 4)).toEqual([expected, expected, expected, expected]);
          expect(await sha256Of(expected)).toBe(file.sha256);
          const downloads = c.cloud.logs.filter(
            (l) => l.includes("artifact download") && l.includes(`by=${e.name} `),
          );
          expect(downloads).toHaveLength(1);
        }

        // A cut half-way, then a corrupt transfer: through a proxy, with edge1's credentials.
        const identity = storedIdentity(stores[0] as Store);
        if (!identity) throw new Error("edge1 has no stored identity");
        const proxy = startFaultProxy({ upstream: c.cloud.apiUrl, hostname: `${c.subnet}.20` });
        try {
          const viaProxy = new ArtifactCache({
            store: stores[0] as Store,
            dataDir: c.edges[0]?.dataDir as string,
            log,
            source: httpArtifactSource({ url: proxy.url, ...identity }),
            backoff: { baseMs: 10, capMs: 50 },
          });
          expect(viaProxy.gc(new Set()).removed).toEqual([file.sha256]);

          proxy.setFaults((i) => (i === 0 ? { cutAfter: HALF } : undefined));
          const resumed = await viaProxy.ensure(ref);
          expect(proxy.requests.map((r) => [r.range, r.status, r.bytes])).toEqual([
            [null, 200, HALF],
            [`bytes=${HALF}-`, 206, SIZE - HALF],
          ]);
          expect(await sha256Of(resumed)).toBe(file.sha256);

          viaProxy.gc(new Set());
          proxy.requests.length = 0;
          proxy.setFaults((i) => (i === 0 ? { flipAt: 150 * 1024 * 1024 } : undefined));
          const refetched = await viaProxy.ensure(ref);
          expect(proxy.requests.map((r) => [r.range, r.status, r.bytes])).toEqual([
            [null, 200, SIZE],
            [null, 200, SIZE],
          ]);
          expect(await sha256Of(refetched)).toBe(file.sha256);
          expect(proxy.requests.every((r) => r.user === "edge1")).toBe(true);
        } finally {
          proxy.stop();
        }
      } finally {
        for (const s of stores) s.close();
      }
    });
  }, 180_000);
});
