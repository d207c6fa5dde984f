// The control plane with real processes: join, apply → every node's plan applied, a node that
// misses changes while frozen catches up to the final state, bad manifests store nothing, and an
// edge restarted without its cloud runs its stored plan. Every case runs twice: with the cloud's
// embedded broker and with a real Mosquitto as external broker (--mqtt-url), set up with the files
// of `levee ctl broker-config mosquitto` (test/harness/mosquitto.ts).
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BUN, type Cluster, REPO_ROOT, runLevee, waitUntil, withCluster } from "../harness/cluster.ts";
import { BROKER_KINDS, mosquittoAvailable } from "../harness/mosquitto.ts";

const haveMosquitto = mosquittoAvailable();
/** A real worker: a small HTTP server (test/fixtures/http-worker.ts) with a /health endpoint. */
const WORKER = join(REPO_ROOT, "test/fixtures/http-worker.ts");

function serviceManifest(name: string, nodes: string[], greeting = "hello"): string {
  return `apiVersion: levee/v1
kind: Service
metadata: { name: ${name}, labels: { app: demo } }
spec:
  template:
    driver: exec
    command: [${JSON.stringify(BUN)}, ${JSON.stringify(WORKER)}]
    env: { GREETING: "${greeting}" }
    port: auto
    health: { http: /health }
  workers:
${nodes.map((n) => `    - node: ${n}\n      replicas: 2`).join("\n")}
  mesh: { port: 19100, protocol: http, balance: round-robin, fallback: none }
`;
}

interface NodeStatus {
  metadata: { name: string };
  status: { phase: string; plan: { desiredRevision: number; appliedRevision: number } };
}

async function nodes(c: Cluster): Promise<NodeStatus[]> {
  return ((await (await c.cloud.api("/api/v1/nodes")).json()) as { items: NodeStatus[] }).items;
}

async function apply(c: Cluster, body: string) {
  const res = await c.cloud.api("/api/v1/apply", {
    method: "POST",
    headers: { "content-type": "application/yaml" },
    body,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Polls until every node (or the named ones) applied its desired revision; returns the elapsed ms. */
async function allApplied(c: Cluster, names?: string[], timeoutMs = 15_000): Promise<number> {
  const started = performance.now();
  let last: NodeStatus[] = [];
  while (performance.now() - started < timeoutMs) {
    last = (await nodes(c)).filter((n) => !names || names.includes(n.metadata.name));
    if (
      last.length > 0 &&
      last.every((n) => n.status.plan.appliedRevision === n.status.plan.desiredRevision)
    ) {
      return performance.now() - started;
    }
    await Bun.sleep(20);
  }
  throw new Error(
    `plans not applied in ${timeoutMs} ms: ${JSON.stringify(last.map((n) => [n.metadata.name, n.status.plan]))}`,
  );
}

for (const broker of BROKER_KINDS)
  describe.skipIf(broker === "mosquitto" && !haveMosquitto)(`control plane (${broker} broker)`, () => {
    test("apply reaches every edge, and the nodes are Ready", async () => {
      await withCluster({ broker, edges: 3 }, async (c) => {
        const r = await apply(c, serviceManifest("echo", ["edge1", "edge2", "edge3"]));
        expect(r.body).toEqual({
          results: [{ kind: "Service", name: "echo", outcome: "created", generation: 1 }],
          nodes: expect.any(Array),
        });
        // Each edge's plan changed: its workers of echo are added.
        const added = (r.body as { nodes: { node: string; workers: { change: string }[] }[] }).nodes;
        expect(added.map((n) => n.node)).toEqual(["edge1", "edge2", "edge3"]);
        expect(added.every((n) => n.workers.length > 0 && n.workers.every((w) => w.change === "added"))).toBe(
          true,
        );
        const ms = await allApplied(c);
        console.log(`apply → all 4 nodes acknowledged in ${Math.round(ms)} ms`);
        const list = await nodes(c);
        expect(list.map((n) => n.metadata.name).sort()).toEqual(["cloud", "edge1", "edge2", "edge3"]);
        expect(list.every((n) => n.status.phase === "Ready")).toBe(true);
        // the edge has the plan on disk, served by its local agent API
        const plan = (await (await fetch(`${c.edges[0]?.agentUrl}/v1/plan`)).json()) as {
          plan: { services: { name: string; workers: unknown[] }[] };
        };
        expect(plan.plan.services.map((s) => [s.name, s.workers.length])).toEqual([["echo", 2]]);
        // applying the same manifest again changes nothing and wakes no node
        const before = await nodes(c);
        expect((await apply(c, serviceManifest("echo", ["edge1", "edge2", "edge3"]))).body).toMatchObject({
          results: [{ outcome: "unchanged" }],
        });
        expect((await nodes(c)).map((n) => n.status.plan)).toEqual(before.map((n) => n.status.plan));

        // The workers run for real: `levee ctl get workers` shows all six ready on their nodes.
        let table = "";
        await waitUntil("six ready workers in ctl get workers", async () => {
          const r = await runLevee(["ctl", "get", "workers", "--data-dir", c.cloud.dataDir]);
          table = r.stdout;
          return (
            table.split("\n").filter((l) => /^echo\s+edge[123]\s+[01]\s+ready\s+true\b/.test(l)).length === 6
          );
        }).catch((err: Error) => {
          throw new Error(`${err.message}\n${table}`);
        });
      });
    }, 30_000);

    // The frozen edge (SIGSTOP) may stop inside the host's shared port registry lock: the other
    // edge must not stall on it (test/e2e/port-registry.test.ts covers that case on its own).
    test("a frozen edge misses three changes and catches up to the final state", async () => {
      await withCluster({ broker, edges: 2 }, async (c) => {
        await apply(c, serviceManifest("echo", ["edge1", "edge2"]));
        await allApplied(c);
        const edge2 = c.edges[1];
        if (!edge2) throw new Error("no edge2");
        edge2.kill("SIGSTOP");
        try {
          await apply(c, serviceManifest("echo", ["edge1", "edge2"], "changed"));
          await apply(c, serviceManifest("extra", ["edge2"]));
          await apply(c, serviceManifest("echo", ["edge1", "edge2"], "hello")); // reverted
          await allApplied(c, ["edge1", "cloud"]);
          const frozen = (await nodes(c)).find((n) => n.metadata.name === "edge2");
          expect(frozen?.status.plan.appliedRevision).toBeLessThan(frozen?.status.plan.desiredRevision ?? 0);
        } finally {
          edge2.kill("SIGCONT");
        }
        await allApplied(c, ["edge2"], 20_000);
        // Env values only with the agent token (without it /v1/plan shows their sizes).
        const agentToken = readFileSync(join(edge2.dataDir, "agent.token"), "utf8").trim();
        const plan = (await (
          await fetch(`${edge2.agentUrl}/v1/plan`, { headers: { authorization: `Bearer ${agentToken}` } })
        ).json()) as {
          plan: { services: { name: string; workers: { template: { env: Record<string, string> } }[] }[] };
        };
        expect(plan.plan.services.map((s) => s.name)).toEqual(["echo", "extra"]);
        expect(plan.plan.services[0]?.workers[0]?.template.env.GREETING).toBe("hello");
      });
    }, 60_000);

    test("bad manifests are refused with the path of the mistake and store nothing", async () => {
      await withCluster({ broker }, async (c) => {
        const good = serviceManifest("good", ["edge1"]);
        const bad = serviceManifest("bad", ["edge1"]).replace("replicas: 2", "replicas: -1");
        const r = await apply(c, `${good}---\n${bad}`);
        expect(r.status).toBe(400);
        expect(r.body.issues).toEqual([
          expect.objectContaining({ document: 1, path: "spec.workers[0].replicas" }),
        ]);
        const services = (await (await c.cloud.api("/api/v1/services")).json()) as { items: unknown[] };
        expect(services.items).toEqual([]);
        const unauthenticated = await fetch(`${c.cloud.apiUrl}/api/v1/services`);
        expect(unauthenticated.status).toBe(401);
      });
    }, 30_000);

    test("an edge restarted while the cloud is down runs its stored plan", async () => {
      await withCluster({ broker, edges: 1 }, async (c) => {
        await apply(c, serviceManifest("echo", ["edge1"]));
        await allApplied(c);
        const edge = c.edges[0];
        if (!edge) throw new Error("no edge");
        // the cloud and its broker (embedded: the same process) are gone
        await c.cloud.stop();
        await c.broker.stop();
        await edge.stop();
        await edge.restart({ waitReady: false });
        let plan: Response | undefined;
        for (let i = 0; i < 100 && plan?.status !== 200; i++) {
          await Bun.sleep(50);
          plan = await fetch(`${edge.agentUrl}/v1/plan`).catch(() => undefined);
        }
        expect(plan?.status).toBe(200);
        const ready = (await (await fetch(`${edge.agentUrl}/readyz`)).json()) as {
          checks: Record<string, string>;
        };
        expect(ready.checks.store).toBe("ok");
        expect(ready.checks.cloud).not.toBe("ok"); // honest: no cloud
        await c.broker.start();
        await c.cloud.restart();
        await waitFor(async () => (await fetch(`${edge.agentUrl}/readyz`)).status === 200, 20_000);
      });
    }, 60_000);

    test("join refusals: a used-up token and a name already taken exit 2 with the reason", async () => {
      await withCluster({ broker, edges: 1 }, async (c) => {
        const res = await c.cloud.api("/api/v1/tokens", {
          method: "POST",
          body: JSON.stringify({ uses: 1 }),
        });
        const { token } = (await res.json()) as { token: string };
        const common = [
          "--cloud",
          c.cloud.apiUrl,
          "--log-level",
          "error",
          "--bind-address",
          `${c.subnet}.60`,
        ];
        const taken = await runLevee([
          "edge",
          ...common,
          "--node-name",
          "edge1",
          "--token",
          token,
          "--data-dir",
          `${c.cloud.dataDir}-x1`,
        ]);
        expect(taken.code).toBe(2);
        expect(taken.stderr).toContain('node name "edge1" is already joined with other credentials');
        // the refused join did not use the token up
        const first = await runLevee(
          [
            "edge",
            ...common,
            "--node-name",
            "edge9",
            "--token",
            token,
            "--data-dir",
            `${c.cloud.dataDir}-x2`,
          ],
          { timeoutMs: 3000 },
        );
        expect(first.stderr).not.toContain("refused");
        const used = await runLevee([
          "edge",
          ...common,
          "--node-name",
          "edge8",
          "--token",
          token,
          "--data-dir",
          `${c.cloud.dataDir}-x3`,
        ]);
        expect(used.code).toBe(2);
        expect(used.stderr).toContain("is used up");
      });
    }, 30_000);
  });

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    if (await check().catch(() => false)) return;
    await Bun.sleep(50);
  }
  throw new Error(`condition not met in ${timeoutMs} ms`);
}
