// Real agents on loopback addresses: readiness, health endpoints, graceful shutdown, restart
// after kill -9, and refusals that need a human (shared data dir, busy port).
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { makeTempDir, runLevee, withCluster } from "../harness/cluster.ts";

describe("cloud and edges on loopback", () => {
  test("a cloud and two edges come up ready, each on its own address", async () => {
    await withCluster({ edges: 2 }, async (c) => {
      const ready = await fetch(`${c.cloud.apiUrl}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({
        status: "ready",
        mode: "cloud",
        checks: { store: "ok", mqtt: "ok" },
      });
      expect((await fetch(`${c.cloud.apiUrl}/healthz`)).status).toBe(200);
      for (const edge of c.edges) {
        const res = await fetch(`${edge.agentUrl}/readyz`);
        expect(res.status).toBe(200);
        expect(await res.json()).toMatchObject({ mode: "edge", node: edge.name });
      }
      expect(c.edges.map((e) => e.address)).toEqual([`${c.subnet}.11`, `${c.subnet}.12`]);
      // unknown paths are JSON 404s, not crashes
      const missing = await fetch(`${c.cloud.apiUrl}/nope`);
      expect(missing.status).toBe(404);
      expect(await missing.json()).toEqual({ error: "no such endpoint: GET /nope" });
    });
  });

  test("SIGTERM shuts an agent down cleanly within 5 s and releases its data dir", async () => {
    await withCluster({ edges: 1 }, async (c) => {
      for (const agent of [c.edges[0], c.cloud]) {
        if (!agent) throw new Error("missing agent");
        const started = performance.now();
        const code = await agent.stop();
        expect(code).toBe(0);
        expect(performance.now() - started).toBeLessThan(5000);
        expect(agent.logs.some((l) => l.includes("stopped"))).toBe(true);
        expect(existsSync(join(agent.dataDir, "levee.pid"))).toBe(false);
      }
    });
  });

  test("after kill -9 the agent starts again on the same data dir", async () => {
    await withCluster({ edges: 1 }, async (c) => {
      const edge = c.edges[0];
      if (!edge) throw new Error("missing edge");
      edge.kill("SIGKILL");
      await edge.process.exited;
      await edge.restart();
      expect((await fetch(`${edge.agentUrl}/readyz`)).status).toBe(200);
    });
  });

  test("a second agent on a data dir in use exits 2 naming the holder's PID", async () => {
    await withCluster({}, async (c) => {
      const r = await runLevee([
        "cloud",
        "--data-dir",
        c.cloud.dataDir,
        "--bind-address",
        `${c.subnet}.99`,
        "--log-level",
        "error",
      ]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim()).toBe(
        `levee cloud: data dir ${c.cloud.dataDir} is in use by another levee agent (levee cloud pid ${c.cloud.process.proc.pid})`,
      );
    });
  });

  test("a port in use is a one-line error naming the flag", async () => {
    await withCluster({}, async (c) => {
      const r = await runLevee([
        "cloud",
        "--data-dir",
        makeTempDir(),
        "--bind-address",
        `${c.subnet}.98`,
        "--api-listen",
        `${c.subnet}.10:7400`,
        "--log-level",
        "error",
      ]);
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toBe(
        `levee cloud: cannot listen on ${c.subnet}.10:7400 (cloud API, --api-listen): address already in use`,
      );
    });
  });
});
