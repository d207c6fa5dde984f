// Sending a node its plan, without a broker: read from the plans table, published as a plan
// message of the cloud's epoch and the current format, remembered as sent; inside an open batch
// it waits for the commit and goes once per node; nothing is sent, or remembered, when it cannot be.
import { afterEach, describe, expect, test } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import { CloudLinkState } from "../../../src/cloud/link/cloud-link-state.ts";
import { planDelivery } from "../../../src/cloud/link/plan-delivery.ts";
import { syncRecords } from "../../../src/cloud/link/sync-records.ts";
import { type PlanSigner, planSigner } from "../../../src/cloud/plan-signing-key.ts";
import { PLAN_FORMAT } from "../../../src/manifest/plan.ts";
import { decodeMessage, type PlanPacked } from "../../../src/protocol/messages.ts";
import { unpackPlan } from "../../../src/protocol/plan-packing.ts";
import { planSignatureProblem } from "../../../src/protocol/plan-signature.ts";
import { downTopic } from "../../../src/protocol/topics.ts";
import { createLogger } from "../../../src/runtime/log.ts";
import { openStore, type Store } from "../../../src/store/store.ts";
import { makeTempDir } from "../../harness/cluster.ts";

const stores: Store[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
});

function setup(options: { ready?: boolean; publishes?: boolean; signer?: PlanSigner } = {}) {
  const store = openStore({ dataDir: makeTempDir(), mode: "cloud" });
  stores.push(store);
  const at = new Date().toISOString();
  store.db
    .query(
      "INSERT INTO nodes (name, uid, mqtt_password_hash, joined_at, phase_since) VALUES ('n1', 'u', '', ?, ?)",
    )
    .run(at, at);
  const logs: string[] = [];
  const state = new CloudLinkState("epoch-1", 1);
  const published: { topic: string; payload: Buffer }[] = [];
  const batch = { open: false, waiting: new Map<string, () => void>() };
  const commit = {
    get open() {
      return batch.open;
    },
    laterOnce: (key: string, action: () => void) => {
      if (!batch.waiting.has(key)) batch.waiting.set(key, action);
    },
  };
  const delivery = planDelivery({
    state,
    records: syncRecords(store),
    commit,
    isReady: () => options.ready ?? true,
    publish: (topic, payload) => {
      if (options.publishes === false) return false;
      published.push({ topic, payload });
      return true;
    },
    now: () => 5000,
    sign: options.signer?.sign,
    log: createLogger({ level: "debug", format: "text", write: (l) => logs.push(l) }),
  });
  const setPlan = (revision: number, plan = JSON.stringify({ services: [revision] })) =>
    store.db
      .query(
        `INSERT INTO plans (node, revision, hash, plan) VALUES ('n1', ?1, ?2, ?3)
         ON CONFLICT (node) DO UPDATE SET revision = ?1, hash = ?2, plan = ?3`,
      )
      .run(revision, `hash-${revision}`, plan);
  const plans = () =>
    published.map(({ topic, payload }) => {
      expect(topic).toBe(downTopic("n1"));
      const decoded = decodeMessage("n1", payload, "down");
      if (!decoded.ok || decoded.msg.type !== "plan") throw new Error("not a plan message");
      return decoded.msg;
    });
  const packed = () =>
    published.map(({ payload }) => {
      const decoded = decodeMessage("n1", payload, "down");
      if (!decoded.ok) throw new Error("not a message");
      return decoded.msg;
    });
  return { delivery, state, batch, setPlan, plans, packed, published, logs };
}

describe("plan delivery", () => {
  test("outside a batch: the plan as stored, at once, remembered as sent", () => {
    const s = setup();
    s.setPlan(4);
    expect(s.delivery.publishPlan("n1")).toBe(true);
    expect(s.plans()).toEqual([
      expect.objectContaining({
        type: "plan",
        epoch: "epoch-1",
        revision: 4,
        hash: "hash-4",
        format: PLAN_FORMAT,
        plan: { services: [4] },
      }),
    ]);
    expect(s.state.sent.get("n1")).toEqual({ revision: 4, hash: "hash-4", atMs: 5000 });
    expect(s.state.sentDirty.has("n1")).toBe(true);
  });

  test("with a signer: each plan carries the cloud's signature of what the node stores, for that node", () => {
    const signer = planSigner(generateKeyPairSync("ed25519").privateKey);
    const s = setup({ signer });
    s.setPlan(4);
    expect(s.delivery.publishPlan("n1")).toBe(true);
    const [msg] = s.plans();
    if (!msg) throw new Error("no plan sent");
    expect(msg.keyId).toBe(signer.key.keyId);
    expect(planSignatureProblem(signer.key, msg, msg)).toBeUndefined();
    expect(planSignatureProblem(signer.key, { ...msg, node: "n2" }, msg)).toContain("does not match");
  });

  test("inside a batch: once per node, after the commit, the plan as committed", () => {
    const s = setup();
    s.setPlan(4);
    s.batch.open = true;
    expect(s.delivery.publishPlan("n1")).toBe(true);
    expect(s.delivery.publishPlan("n1")).toBe(true);
    s.setPlan(5);
    expect(s.plans()).toEqual([]);
    expect(s.batch.waiting.size).toBe(1);
    s.batch.open = false;
    for (const action of s.batch.waiting.values()) action();
    expect(s.plans().map((p) => p.revision)).toEqual([5]);
  });

  const refusals: {
    name: string;
    ready?: boolean;
    publishes?: boolean;
    plan?: string | null;
    logged?: string;
  }[] = [
    { name: "not connected", ready: false },
    { name: "no plan row", plan: null },
    { name: "the broker does not take it", publishes: false },
    { name: "a stored plan that is not JSON", plan: "{", logged: "stored plan is not JSON" },
  ];
  for (const r of refusals) {
    test(`${r.name}: false, nothing remembered`, () => {
      const s = setup(r);
      if (r.plan !== null) s.setPlan(4, r.plan);
      expect(s.delivery.publishPlan("n1")).toBe(false);
      expect(s.plans()).toEqual([]);
      expect(s.state.sent.size).toBe(0);
      if (r.logged) expect(s.logs.some((l) => l.includes(r.logged as string))).toBe(true);
    });
  }

  test("to a node that reads packed plans: after its ack, the next plan is a delta, signed over the whole plan", () => {
    const signer = planSigner(generateKeyPairSync("ed25519").privateKey);
    const s = setup({ signer });
    s.state.reads.set("n1", { packedPlans: true });
    const big = (mark: string) =>
      JSON.stringify({
        services: Array.from({ length: 40 }, (_, i) => ({
          name: `s${i}`,
          env: { MARK: i === 3 ? mark : "x" },
        })),
      });
    s.setPlan(4, big("a"));
    s.delivery.publishPlan("n1");
    // No base yet: the whole plan, deflated (it is large and repetitive).
    s.setPlan(5, big("b"));
    s.delivery.publishPlan("n1");
    s.state.acknowledged("n1", 5, "hash-5");
    s.setPlan(6, big("c"));
    s.delivery.publishPlan("n1");
    const [first, second, third] = s.packed() as PlanPacked[];
    expect([first?.type, second?.type, third?.type]).toEqual(["plan-packed", "plan-packed", "plan-packed"]);
    expect(first?.deflated).toBeDefined();
    expect(third?.base).toEqual({ revision: 5, hash: "hash-5" });
    expect(s.state.plansSent.snapshot()).toEqual({ deflated: 2, delta: 1 });
    const rebuilt = unpackPlan(third as PlanPacked, () => ({
      epoch: "epoch-1",
      revision: 5,
      hash: "hash-5",
      plan: JSON.parse(big("b")),
    }));
    if (!rebuilt.ok) throw new Error(rebuilt.detail);
    expect(rebuilt.msg.plan).toEqual(JSON.parse(big("c")));
    expect(planSignatureProblem(signer.key, { ...rebuilt.msg, node: "n1" }, rebuilt.msg)).toBeUndefined();
    // A hello that reports another plan forgets the base: the next goes whole.
    s.state.reported("n1", { epoch: "epoch-1", revision: 2, hash: "hash-2" });
    expect(s.state.bases.has("n1")).toBe(false);
  });

  test("to a node that reads lean plans: a packed plan without node, id and ts; the topic names the node", () => {
    const signer = planSigner(generateKeyPairSync("ed25519").privateKey);
    const s = setup({ signer });
    const big = JSON.stringify({ services: Array.from({ length: 100 }, () => "same") });
    s.state.reads.set("n1", { packedPlans: true });
    s.setPlan(4, big);
    s.delivery.publishPlan("n1");
    s.state.reads.set("n1", { packedPlans: true, leanPlans: true });
    s.setPlan(5, big.replace("same", "other"));
    s.delivery.publishPlan("n1");
    const [full, lean] = s.published.map((p) => JSON.parse(p.payload.toString("utf8")));
    expect(Object.keys(full)).toEqual(expect.arrayContaining(["node", "id", "ts"]));
    expect(lean.node ?? lean.id ?? lean.ts).toBeUndefined();
    expect((s.published[1]?.payload.length ?? 0) < (s.published[0]?.payload.length ?? 0)).toBe(true);
    // Decoded on n1's topic it is n1's, and its signature (which binds the node) holds.
    const decoded = s.packed()[1] as PlanPacked;
    expect(decoded).toMatchObject({ type: "plan-packed", node: "n1", revision: 5 });
    const rebuilt = unpackPlan(decoded, () => undefined);
    if (!rebuilt.ok) throw new Error(rebuilt.detail);
    expect(planSignatureProblem(signer.key, { ...rebuilt.msg, node: "n1" }, rebuilt.msg)).toBeUndefined();
    // The same bytes on another node's topic name that node, and the signature then fails.
    const elsewhere = decodeMessage("n2", s.published[1]?.payload as Buffer, "down");
    if (!elsewhere.ok || elsewhere.msg.type !== "plan-packed") throw new Error("not decoded");
    const moved = unpackPlan(elsewhere.msg, () => undefined);
    if (!moved.ok) throw new Error(moved.detail);
    expect(planSignatureProblem(signer.key, { ...moved.msg, node: "n2" }, moved.msg)).toBeDefined();
  });

  test("to a node that did not say it reads packed plans: plain plan messages", () => {
    const s = setup();
    s.setPlan(4, JSON.stringify({ services: Array.from({ length: 100 }, () => "same") }));
    s.delivery.publishPlan("n1");
    expect(s.plans().map((p) => p.type)).toEqual(["plan"]);
  });
});
