// Plans are signed by the cloud and verified by the node, so that whatever sits between them (the
// broker, or anything with the broker's credentials) cannot change what a node runs: a client with
// the cloud's MQTT credentials publishes a changed plan and an unsigned one to edge1's topic; edge1
// refuses both (keeps its plan and its running worker), the cloud records PlanRefused on the Node,
// and a normal apply afterwards still reaches edge1. Runs on either broker (LEVEE_TEST_BROKER).
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import mqtt from "mqtt";
import { cloudClientId } from "../../src/protocol/acl.ts";
import type { PlanPacked } from "../../src/protocol/messages.ts";
import { unpackPlan } from "../../src/protocol/plan-packing.ts";
import { downTopic } from "../../src/protocol/topics.ts";
import {
  applyManifest,
  type Cluster,
  httpWorkerService,
  waitUntil,
  withCluster,
} from "../harness/cluster.ts";
import { eventsUntil } from "../harness/events.ts";

interface AgentWorker {
  service: string;
  pid: number | null;
  ready: boolean;
}

async function agentWorker(agentUrl: string, service: string): Promise<AgentWorker | undefined> {
  const res = await fetch(`${agentUrl}/v1/workers?service=${service}`);
  return ((await res.json()) as { items: AgentWorker[] }).items[0];
}

async function storedRevision(agentUrl: string): Promise<number> {
  return ((await (await fetch(`${agentUrl}/v1/plan`)).json()) as { revision: number }).revision;
}

function cloudMqttPassword(c: Cluster): string {
  const db = new Database(join(c.cloud.dataDir, "levee.db"), { readonly: true });
  try {
    const row = db
      .query<{ value: string }, [string]>("SELECT value FROM meta WHERE key = ?")
      .get("cloud-mqtt-password");
    if (!row) throw new Error("no cloud-mqtt-password in the cloud's store");
    return row.value;
  } finally {
    db.close();
  }
}

describe("signed plans", () => {
  test("a plan changed on the way is refused and reported; the node keeps its workers", async () => {
    await withCluster({ edges: 1 }, async (c) => {
      const edge = c.edges[0] as Cluster["edges"][0];
      const client = mqtt.connect(c.broker.url, {
        clientId: cloudClientId("tamper-test"),
        username: "levee-cloud",
        password: cloudMqttPassword(c),
        reconnectPeriod: 0,
        connectTimeout: 5000,
      });
      try {
        await new Promise<void>((resolve, reject) => {
          client.once("connect", () => resolve());
          client.once("error", reject);
        });
        const seen: Record<string, unknown>[] = [];
        client.on("message", (_topic, payload) => {
          const msg = JSON.parse(payload.toString("utf8")) as Record<string, unknown>;
          if (msg.type === "plan") seen.push(msg);
          // The cloud sends a node that reads them packed plans: the first one (no base) whole.
          if (msg.type === "plan-packed" && msg.base === undefined) {
            const unpacked = unpackPlan(msg as PlanPacked, () => undefined);
            if (unpacked.ok) seen.push(unpacked.msg);
          }
        });
        await client.subscribeAsync(downTopic("edge1"), { qos: 1 });

        await applyManifest(c, httpWorkerService("web", [{ node: "edge1" }]), "application/json");
        let before: AgentWorker | undefined;
        await waitUntil("web ready on edge1", async () => {
          before = await agentWorker(edge.agentUrl, "web");
          return before?.ready === true && before.pid !== null;
        });
        const revision = await storedRevision(edge.agentUrl);
        await waitUntil("the plan edge1 runs seen on its topic", () =>
          seen.some((m) => m.revision === revision),
        );
        const genuine = seen.find((m) => m.revision === revision) as Record<string, unknown>;
        expect(typeof genuine.signature).toBe("string");

        // A changed plan (its workers removed, the next revision) with the genuine signature, as a
        // plain plan message (its whole envelope: what was seen may have been a lean packed plan).
        const plan = genuine.plan as Record<string, unknown>;
        const changed: Record<string, unknown> = {
          ...genuine,
          node: "edge1",
          ts: new Date().toISOString(),
          id: randomUUID(),
          revision: revision + 1,
          plan: { ...plan, services: [] },
        };
        await client.publishAsync(downTopic("edge1"), JSON.stringify(changed), { qos: 1 });
        const refused = await eventsUntil(c, (e) => e.name === "edge1" && e.reason === "PlanRefused");
        expect(refused.at(-1)?.message).toContain(`refused plan revision ${revision + 1}`);
        expect(refused.at(-1)?.message).toContain("does not match its content");
        // And one without a signature at all.
        const { signature: _s, keyId: _k, ...unsigned } = changed;
        await client.publishAsync(
          downTopic("edge1"),
          JSON.stringify({ ...unsigned, id: randomUUID(), revision: revision + 2 }),
          { qos: 1 },
        );
        await eventsUntil(
          c,
          (e) => e.name === "edge1" && e.message?.includes("the plan is not signed") === true,
        );

        expect(edge.logs.filter((l) => l.includes("plan refused")).length).toBe(2);
        expect(await storedRevision(edge.agentUrl)).toBe(revision);
        const after = await agentWorker(edge.agentUrl, "web");
        expect(after).toMatchObject({ ready: true, pid: before?.pid });

        // A normal apply still reaches edge1 (its revision is the one the changed plan claimed).
        await applyManifest(c, httpWorkerService("web2", [{ node: "edge1" }]), "application/json");
        await waitUntil(
          "web2 ready on edge1",
          async () => (await agentWorker(edge.agentUrl, "web2"))?.ready === true,
        );
        expect(await storedRevision(edge.agentUrl)).toBeGreaterThan(revision);
        expect((await agentWorker(edge.agentUrl, "web"))?.pid).toBe(before?.pid ?? -1);
        // The cloud's own node verifies its plans with the same key, and refused none.
        expect(c.cloud.logs.some((l) => l.includes("plan refused"))).toBe(false);
      } finally {
        client.end(true);
      }
    });
  }, 60_000);
});
