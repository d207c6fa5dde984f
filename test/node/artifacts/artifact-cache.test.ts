// The node's artifact cache against a real cloud API (in this process, on a loopback socket) behind
// a fault proxy: one download however many callers, resume with Range (also from a partial file an
// earlier agent left), corrupt transfers and bad partials rejected, cuts, stalls and 503s retried,
// final errors for unknown artifacts / wrong sizes / refused credentials, abort, gc, the cloud's
// own node (a copy from its artifact dir). Plus the pure decisions in fetch-plan.ts.
import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ArtifactStore } from "../../../src/cloud/artifact-store.ts";
import { joinNode } from "../../../src/cloud/node-registry.ts";
import {
  ArtifactCache,
  ArtifactError,
  type ArtifactProgress,
} from "../../../src/node/artifacts/artifact-cache.ts";
import { httpArtifactSource, nodeArtifactSource } from "../../../src/node/artifacts/artifact-source.ts";
import {
  afterUnsatisfiable,
  bodyEnd,
  interpretReply,
  parseContentRange,
  planRequest,
  rangeHeader,
  sizeProblem,
} from "../../../src/node/artifacts/fetch-plan.ts";
import { saveIdentity } from "../../../src/node/identity.ts";
import { mosquittoHasher } from "../../../src/protocol/mosquitto-password.ts";
import { createLogger } from "../../../src/runtime/log.ts";
import { openStore, type Store } from "../../../src/store/store.ts";
import { ADMIN_TOKEN as ADMIN, inProcessCloud } from "../../harness/cloud-api.ts";
import { makeTempDir } from "../../harness/cluster.ts";
import { type Fault, startFaultProxy } from "../../harness/fault-proxy.ts";

const log = createLogger({ level: "error", format: "json", write: () => {} });
const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

// The cloud: a real store, artifact dir and API on 127.0.0.1.
const cloudDir = makeTempDir();
const cloudStore = openStore({ dataDir: cloudDir, mode: "cloud" });
const artifacts = new ArtifactStore(cloudStore, cloudDir);
const { app } = inProcessCloud({ store: cloudStore, log, replanOnJoin: false, deps: { artifacts } });
const cloud = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: app.fetch, maxRequestBodySize: 1 << 30 });
const cloudUrl = `http://127.0.0.1:${cloud.port}`;
const proxy = startFaultProxy({ upstream: cloudUrl });
const joined = joinNode(
  cloudStore,
  mosquittoHasher,
  { name: "edge1", labels: {}, addresses: [], agentVersion: "t", arch: "x64" },
  () => {},
);
if (joined.kind !== "joined") throw new Error("join failed");
const creds = joined.credentials;

/** Deterministic pseudo-random bytes. */
function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

async function push(data: Uint8Array, name = "blob.bin"): Promise<string> {
  const res = await fetch(`${cloudUrl}/api/v1/artifacts?name=${name}`, {
    method: "POST",
    body: data,
    headers: { authorization: `Bearer ${ADMIN}` },
  });
  if (!res.ok) throw new Error(`push: HTTP ${res.status}`);
  await mountOnEdge1(sha(data));
  return sha(data);
}

// A node reads only the artifacts its plan mounts: edge1's plan mounts every pushed artifact, and
// one that was never pushed (for the 404).
const mounted = new Set<string>(["c".repeat(64)]);
async function mountOnEdge1(sha256: string): Promise<void> {
  mounted.add(sha256);
  const mounts = [...mounted].map((s, i) => `{artifact: {sha256: "${s}"}, envName: M${i}}`).join(", ");
  const manifest = `apiVersion: levee/v1\nkind: Service\nmetadata: {name: models}\nspec:\n  template: {command: [run], mounts: [${mounts}]}\n  workers: [{node: edge1}]\n`;
  const res = await app.request("/api/v1/apply", {
    method: "POST",
    body: manifest,
    headers: { authorization: `Bearer ${ADMIN}` },
  });
  if (res.status !== 200) throw new Error(`apply: HTTP ${res.status} ${await res.text()}`);
}

const SIZE = 3 * 1024 * 1024 + 17;
const BLOB = bytes(SIZE, 42);
const BLOB_SHA = await push(BLOB);

const stores: Store[] = [cloudStore];
afterAll(() => {
  proxy.stop();
  cloud.stop(true);
  for (const s of stores) s.close();
});

function edge(extra: Partial<ConstructorParameters<typeof ArtifactCache>[0]> = {}) {
  const dataDir = makeTempDir();
  const store = openStore({ dataDir, mode: "edge" });
  stores.push(store);
  const source = httpArtifactSource({ url: proxy.url, username: creds.username, password: creds.password });
  const cache = new ArtifactCache({
    store,
    dataDir,
    log,
    source,
    backoff: { baseMs: 5, capMs: 20 },
    ...extra,
  });
  return { dataDir, store, cache };
}

const readFile = async (path: string): Promise<Uint8Array> =>
  new Uint8Array(await Bun.file(path).arrayBuffer());
const blobRequests = (hash: string) => proxy.requests.filter((r) => r.path.endsWith(hash));

beforeEach(() => {
  proxy.requests.length = 0;
  proxy.setFaults(() => undefined);
});

describe("artifact cache", () => {
  test("downloads once for many concurrent callers; a read-only, byte-exact file; then a cache hit", async () => {
    const { cache, store, dataDir } = edge();
    const ref = { sha256: BLOB_SHA, size: SIZE };
    const paths = await Promise.all(Array.from({ length: 6 }, () => cache.ensure(ref)));
    const expected = join(dataDir, "cache", "artifacts", BLOB_SHA);
    expect(new Set(paths)).toEqual(new Set([expected]));
    expect(blobRequests(BLOB_SHA)).toHaveLength(1);
    expect(proxy.requests[0]?.user).toBe("edge1");
    expect(await readFile(expected)).toEqual(BLOB);
    expect(statSync(expected).mode & 0o777).toBe(0o444);
    const row = store.db
      .query("SELECT size, fetched_at, last_used FROM artifact_cache WHERE sha256 = ?")
      .get(BLOB_SHA);
    expect(row).toMatchObject({ size: SIZE });
    expect(await cache.ensure({ sha256: BLOB_SHA })).toBe(expected);
    expect(blobRequests(BLOB_SHA)).toHaveLength(1);
    expect(cache.has(BLOB_SHA)).toBe(true);
  });

  test("a connection cut half-way resumes with a Range request for the rest", async () => {
    const { cache, dataDir } = edge();
    proxy.setFaults((i) => (i === 0 ? { cutAfter: 1_500_000 } : undefined));
    const progress: ArtifactProgress[] = [];
    const path = await cache.ensure({ sha256: BLOB_SHA }, { onProgress: (p) => progress.push(p) });
    expect(await readFile(path)).toEqual(BLOB);
    const [first, second, ...more] = blobRequests(BLOB_SHA);
    expect(more).toEqual([]);
    expect(first?.range).toBeNull();
    expect(first?.bytes).toBe(1_500_000);
    expect(second?.range).toBe("bytes=1500000-");
    expect(second?.status).toBe(206);
    expect(second?.bytes).toBe(SIZE - 1_500_000);
    expect(progress.some((p) => p.error !== undefined && p.attempt === 1)).toBe(true);
    expect(readdirSync(join(dataDir, "cache", "artifacts"))).toEqual([BLOB_SHA]);
  });

  test("a partial file left by an earlier agent is resumed, not fetched again", async () => {
    const { cache } = edge();
    writeFileSync(`${cache.path(BLOB_SHA)}.partial`, BLOB.subarray(0, 1_000_000));
    const path = await cache.ensure({ sha256: BLOB_SHA, size: SIZE });
    expect(await readFile(path)).toEqual(BLOB);
    expect(blobRequests(BLOB_SHA).map((r) => [r.range, r.bytes])).toEqual([
      ["bytes=1000000-", SIZE - 1_000_000],
    ]);
  });

  test("a complete partial (the agent died before the rename) is verified: no transfer at all", async () => {
    const withSize = edge().cache;
    writeFileSync(`${withSize.path(BLOB_SHA)}.partial`, BLOB);
    expect(await readFile(await withSize.ensure({ sha256: BLOB_SHA, size: SIZE }))).toEqual(BLOB);
    expect(blobRequests(BLOB_SHA)).toEqual([]);
    // Without a size the cloud is asked for the rest: 416 (nothing left), then the partial is verified.
    const withoutSize = edge().cache;
    writeFileSync(`${withoutSize.path(BLOB_SHA)}.partial`, BLOB);
    expect(await readFile(await withoutSize.ensure({ sha256: BLOB_SHA }))).toEqual(BLOB);
    expect(blobRequests(BLOB_SHA).map((r) => [r.range, r.status])).toEqual([[`bytes=${SIZE}-`, 416]]);
  });

  test("a bad partial fails the final check, is deleted and fetched again from the start", async () => {
    const { cache } = edge();
    const bad = BLOB.slice(0, 1_000_000);
    bad[500] = (bad[500] ?? 0) ^ 1;
    writeFileSync(`${cache.path(BLOB_SHA)}.partial`, bad);
    const path = await cache.ensure({ sha256: BLOB_SHA });
    expect(await readFile(path)).toEqual(BLOB);
    expect(blobRequests(BLOB_SHA).map((r) => r.range)).toEqual(["bytes=1000000-", null]);
  });

  test("a corrupted transfer is rejected and retried; a wrong hash never reaches the final path", async () => {
    const fetches: [string, number][] = [];
    const { cache } = edge({ onFetch: (outcome, bytes) => fetches.push([outcome, bytes]) });
    proxy.setFaults((i) => (i < 2 ? { flipAt: 2_000_000 + i } : undefined));
    const seen: boolean[] = [];
    const path = await cache.ensure(
      { sha256: BLOB_SHA },
      { onProgress: (p) => p.error && seen.push(existsSync(cache.path(BLOB_SHA))) },
    );
    expect(seen).toEqual([false, false]);
    expect(await readFile(path)).toEqual(BLOB);
    expect(blobRequests(BLOB_SHA).map((r) => r.range)).toEqual([null, null, null]);
    // What the agent's levee_artifact_fetches_total counts: each retried attempt, then the fetch.
    expect(fetches).toEqual([
      ["retried", 0],
      ["retried", 0],
      ["fetched", SIZE],
    ]);
  });

  test("always corrupt: a final error after maxCorruptTransfers, naming the sha", async () => {
    const fetches: string[] = [];
    const { cache } = edge({ maxCorruptTransfers: 3, onFetch: (outcome) => fetches.push(outcome) });
    proxy.setFaults(() => ({ flipAt: 10 }));
    const err = await cache.ensure({ sha256: BLOB_SHA }).catch((e) => e);
    expect(err).toBeInstanceOf(ArtifactError);
    expect(err.message).toContain(BLOB_SHA);
    expect(err.message).toContain("3 transfers in a row had the wrong sha256");
    expect(existsSync(cache.path(BLOB_SHA))).toBe(false);
    expect(existsSync(`${cache.path(BLOB_SHA)}.partial`)).toBe(false);
    expect(fetches.at(-1)).toBe("failed");
  });

  test("5xx answers and a stalled transfer are retried", async () => {
    const { cache } = edge({ idleTimeoutMs: 300 });
    const plan: Fault[] = [{ status: 503 }, { status: 502 }, { stallAfter: 700_000 }];
    proxy.setFaults((i) => plan[i]);
    const errors: string[] = [];
    const path = await cache.ensure(
      { sha256: BLOB_SHA },
      { onProgress: (p) => p.error && errors.push(p.error) },
    );
    expect(await readFile(path)).toEqual(BLOB);
    expect(errors[0]).toContain("HTTP 503");
    expect(errors[2]).toContain("no data");
    expect(blobRequests(BLOB_SHA).at(-1)?.range).toMatch(/^bytes=\d+-$/);
  });

  test("final errors: an unknown artifact (404), a wrong size, refused credentials", async () => {
    const { cache } = edge();
    const unknown = "c".repeat(64);
    const notFound = await cache.ensure({ sha256: unknown }).catch((e) => e);
    expect(notFound).toBeInstanceOf(ArtifactError);
    expect(notFound.message).toContain(`artifact ${unknown} is not stored`);
    expect(blobRequests(unknown)).toHaveLength(1);
    // Through the proxy the length is not known in advance: refused once more bytes than that came.
    const wrongSize = await cache.ensure({ sha256: BLOB_SHA, size: 5 }).catch((e) => e);
    expect(wrongSize.message).toContain("bytes in the cloud, but its reference says size 5");
    expect(existsSync(cache.path(BLOB_SHA))).toBe(false);
    expect(existsSync(`${cache.path(BLOB_SHA)}.partial`)).toBe(false);
    // From the cloud itself (Content-Length known): refused before a byte is written.
    const direct = edge({
      source: httpArtifactSource({ url: cloudUrl, username: creds.username, password: creds.password }),
    }).cache;
    const wrongSizeDirect = await direct.ensure({ sha256: BLOB_SHA, size: SIZE + 1 }).catch((e) => e);
    expect(wrongSizeDirect).toBeInstanceOf(ArtifactError);
    expect(wrongSizeDirect.message).toContain(
      `has ${SIZE} bytes in the cloud, but its reference says size ${SIZE + 1}`,
    );
    expect(readdirSync(direct.dir)).toEqual([]);
    const bad = await cache.ensure({ sha256: "nope" }).catch((e) => e);
    expect(bad.message).toContain("invalid artifact sha256");

    const stranger = edge({
      source: httpArtifactSource({ url: proxy.url, username: "edge1", password: "wrong" }),
    }).cache;
    const refused = await stranger.ensure({ sha256: BLOB_SHA }).catch((e) => e);
    expect(refused).toBeInstanceOf(ArtifactError);
    expect(refused.message).toContain("refused this node's credentials");
    // Good credentials, but an artifact this node's plan does not mount.
    const notMine = await cache.ensure({ sha256: "f".repeat(64) }).catch((e) => e);
    expect(notMine).toBeInstanceOf(ArtifactError);
    expect(notMine.message).toContain(`this node's current plan does not mount artifact ${"f".repeat(64)}`);
  });

  test("abort: the caller gets the reason; with nobody waiting the download stops; a later ensure resumes", async () => {
    const { cache } = edge();
    proxy.setFaults((i) => (i === 0 ? { stallAfter: 1_200_000 } : undefined));
    const controller = new AbortController();
    const pending = cache.ensure({ sha256: BLOB_SHA }, { signal: controller.signal });
    const partial = `${cache.path(BLOB_SHA)}.partial`;
    while (!existsSync(partial) || statSync(partial).size < 1_200_000) await Bun.sleep(10);
    controller.abort(new Error("worker deleted"));
    expect((await pending.catch((e) => e)).message).toBe("worker deleted");
    const path = await cache.ensure({ sha256: BLOB_SHA });
    expect(await readFile(path)).toEqual(BLOB);
    expect(blobRequests(BLOB_SHA).map((r) => r.range)).toEqual([null, "bytes=1200000-"]);
  });

  test("one of several waiters giving up does not stop the download for the others", async () => {
    const { cache } = edge();
    const controller = new AbortController();
    const leaving = cache.ensure({ sha256: BLOB_SHA }, { signal: controller.signal });
    const staying = cache.ensure({ sha256: BLOB_SHA });
    controller.abort(new Error("gone"));
    expect((await leaving.catch((e) => e)).message).toBe("gone");
    expect(await readFile(await staying)).toEqual(BLOB);
    expect(blobRequests(BLOB_SHA)).toHaveLength(1);
  });

  test("gc deletes blobs and partials not in use, keeps those in use", async () => {
    const { cache, store } = edge();
    const other = bytes(1000, 7);
    const otherSha = await push(other, "other.bin");
    await cache.ensure({ sha256: BLOB_SHA });
    await cache.ensure({ sha256: otherSha });
    const stale = `${"d".repeat(64)}.partial`;
    writeFileSync(join(cache.dir, stale), "half");
    const result = cache.gc(new Set([BLOB_SHA]));
    expect(result.removed.sort()).toEqual([otherSha, stale].sort());
    expect(result.freedBytes).toBe(1000 + 4);
    expect(readdirSync(cache.dir)).toEqual([BLOB_SHA]);
    expect(store.db.query("SELECT sha256 FROM artifact_cache").all()).toEqual([{ sha256: BLOB_SHA }]);
    expect(cache.has(otherSha)).toBe(false);
  });

  test("the node's own source: an edge uses its cloud-url and stored identity; not joined yet is retried", async () => {
    const dataDir = makeTempDir();
    const store = openStore({ dataDir, mode: "edge" });
    stores.push(store);
    const cache = new ArtifactCache({ store, dataDir, log, backoff: { baseMs: 5, capMs: 10 } });
    const errors: string[] = [];
    const pending = cache.ensure(
      { sha256: BLOB_SHA },
      {
        onProgress: (p) => {
          if (!p.error) return;
          errors.push(p.error);
          if (errors.length === 2) {
            store.setMeta("cloud-url", proxy.url);
            saveIdentity(store, { name: "edge1", uid: "u", mqttUrl: "mqtt://x", ...creds });
          }
        },
      },
    );
    expect(await readFile(await pending)).toEqual(BLOB);
    expect(errors[0]).toContain("has not joined the cloud yet");
    expect(blobRequests(BLOB_SHA)[0]?.user).toBe("edge1");
  });

  test("the cloud's own node copies the blob from its artifact dir, and rejects a bad one", async () => {
    const cache = new ArtifactCache({
      store: cloudStore,
      dataDir: cloudDir,
      log,
      backoff: { baseMs: 1, capMs: 2 },
    });
    const path = await cache.ensure({ sha256: BLOB_SHA });
    expect(await readFile(path)).toEqual(BLOB);
    expect(statSync(path).ino).not.toBe(statSync(artifacts.blobPath(BLOB_SHA)).ino);
    expect(proxy.requests).toEqual([]);
    // A blob whose bytes do not match its name (disk corruption) never reaches the cache.
    const fake = "e".repeat(64);
    writeFileSync(join(cloudDir, "artifacts", fake), "not those bytes");
    const err = await cache.ensure({ sha256: fake }).catch((e) => e);
    expect(err).toBeInstanceOf(ArtifactError);
    expect(err.message).toContain("may be corrupt");
    expect(existsSync(cache.path(fake))).toBe(false);
    expect(nodeArtifactSource(cloudStore, cloudDir).description).toContain("artifact directory");
  });
});

describe("fetch plan (pure)", () => {
  test("what to request given a partial file", () => {
    expect(planRequest(0, undefined)).toEqual({ kind: "fetch", from: 0 });
    expect(planRequest(10, undefined)).toEqual({ kind: "fetch", from: 10 });
    expect(planRequest(10, 100)).toEqual({ kind: "fetch", from: 10 });
    expect(planRequest(100, 100)).toEqual({ kind: "verify" });
    expect(planRequest(0, 0)).toEqual({ kind: "fetch", from: 0 });
    expect(planRequest(101, 100).kind).toBe("restart");
    expect(rangeHeader(0)).toBeUndefined();
    expect(rangeHeader(5)).toBe("bytes=5-");
  });

  test("what an answer means", () => {
    expect(interpretReply(200, { contentLength: "100" }, 0)).toEqual({ kind: "body", start: 0, total: 100 });
    expect(interpretReply(200, {}, 40)).toEqual({ kind: "body", start: 0, total: undefined });
    expect(interpretReply(206, { contentRange: "bytes 40-99/100" }, 40)).toEqual({
      kind: "body",
      start: 40,
      total: 100,
    });
    expect(interpretReply(206, { contentRange: "bytes 30-99/100" }, 40).kind).toBe("transient");
    expect(interpretReply(206, { contentRange: "bytes 40-50/100" }, 40).kind).toBe("transient");
    expect(interpretReply(206, {}, 40).kind).toBe("transient");
    expect(interpretReply(416, { contentRange: "bytes */100" }, 100)).toEqual({
      kind: "unsatisfiable",
      total: 100,
    });
    expect(interpretReply(404, {}, 0)).toEqual({ kind: "not-found" });
    expect(interpretReply(401, {}, 0)).toEqual({ kind: "refused", status: 401 });
    expect(interpretReply(503, {}, 0).kind).toBe("transient");
    expect(interpretReply(429, {}, 0).kind).toBe("transient");
    expect(interpretReply(400, {}, 0).kind).toBe("permanent");
    expect(parseContentRange("bytes 0-9/10")).toEqual({ start: 0, end: 9, total: 10 });
    expect(parseContentRange("bytes */10")).toEqual({ total: 10 });
    expect(parseContentRange("bytes 0-9/*")).toEqual({ start: 0, end: 9 });
    expect(parseContentRange("nonsense")).toBeUndefined();
  });

  test("after a 416, sizes and body ends", () => {
    expect(afterUnsatisfiable(100, 100)).toBe("verify");
    expect(afterUnsatisfiable(120, 100)).toBe("restart");
    expect(afterUnsatisfiable(100, undefined)).toBe("restart");
    expect(sizeProblem("s", undefined, 5)).toBeUndefined();
    expect(sizeProblem("s", 5, 5)).toBeUndefined();
    expect(sizeProblem("s", 4, 5)).toContain("has 5 bytes");
    expect(bodyEnd(10, 90, 100)).toBe("complete");
    expect(bodyEnd(10, 80, 100)).toBe("short");
    expect(bodyEnd(10, 91, 100)).toBe("long");
    expect(bodyEnd(0, 5, undefined)).toBe("complete");
  });
});
