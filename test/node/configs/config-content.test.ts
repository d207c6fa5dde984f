// A node's Config content by reference (src/node/configs/): fetched from a real HTTP server with
// the node's credentials, refused until its bytes match the sha256 the plan names (a bad transfer
// is retried), kept in SQLite so a restarted agent needs no cloud, and collected when unused.
import { afterAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { ConfigContent } from "../../../src/node/configs/config-content.ts";
import { httpConfigSource, NotInPlan } from "../../../src/node/configs/content-source.ts";
import { createLogger } from "../../../src/runtime/log.ts";
import { openStore } from "../../../src/store/store.ts";
import { makeTempDir } from "../../harness/cluster.ts";

const log = createLogger({ level: "error", format: "text", write: () => {} });
const good = new TextEncoder().encode("threshold: 0.7\n");
const sha = createHash("sha256").update(good).digest("hex");
let served = 0;
const server = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  fetch(req) {
    if (req.headers.get("authorization") !== `Basic ${Buffer.from("edge1:pw").toString("base64")}`)
      return new Response("no", { status: 401 });
    const path = new URL(req.url).pathname;
    if (path !== `/api/v1/config-content/${sha}`) return new Response("not in your plan", { status: 404 });
    served++;
    // The first transfer is corrupt.
    return new Response(served === 1 ? new TextEncoder().encode("threshold: 0.1\n") : good);
  },
});
afterAll(() => server.stop(true));

describe("ConfigContent", () => {
  test("fetches, verifies, retries a corrupt transfer, keeps the bytes across restarts", async () => {
    const store = openStore({ dataDir: makeTempDir(), mode: "edge" });
    const source = httpConfigSource({
      url: `http://127.0.0.1:${server.port}`,
      username: "edge1",
      password: "pw",
    });
    const content = new ConfigContent({ store, log, source, backoff: { baseMs: 5, capMs: 10 } });
    const ref = { sha256: sha, size: good.length };
    expect(content.missing([ref])).toEqual([ref]);
    expect(new TextDecoder().decode(await content.read(ref))).toBe("threshold: 0.7\n");
    expect(served).toBe(2);
    expect(content.missing([ref])).toEqual([]);

    // A restarted agent (cloud gone): the bytes come from SQLite.
    const offline = new ConfigContent({
      store,
      log,
      source: httpConfigSource({ url: "http://127.0.0.1:1", username: "x", password: "y" }),
    });
    expect(new TextDecoder().decode(await offline.read(ref))).toBe("threshold: 0.7\n");

    // Content the cloud does not serve this node fails the read (no endless wait).
    const other = { sha256: "0".repeat(64), size: 1 };
    await expect(content.read(other)).rejects.toBeInstanceOf(NotInPlan);

    expect(content.gc(new Set())).toBe(1);
    expect(content.missing([ref])).toEqual([ref]);
    store.close();
  });
});
