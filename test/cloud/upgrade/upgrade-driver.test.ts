// The rollout driver on a real store: a rollout is created from pushed artifacts (signed), its
// orders go out on the down topics, reports move it on, and it survives a restart of the cloud
// (a new driver on the same data dir carries on where the old one was).
import { describe, expect, test } from "bun:test";
import { ApiError } from "../../../src/cloud/api-error.ts";
import { deleteNode } from "../../../src/cloud/node-registry.ts";
import { loadOrCreatePlanSigner } from "../../../src/cloud/plan-signing-key.ts";
import { UpgradeDriver } from "../../../src/cloud/upgrade/upgrade-driver.ts";
import { decodeMessage, newMessage } from "../../../src/protocol/messages.ts";
import { binarySignatureProblem } from "../../../src/protocol/upgrade.ts";
import { createLogger } from "../../../src/runtime/log.ts";
import { openStore, type Store } from "../../../src/store/store.ts";
import { registeredNode } from "../../harness/cloud-api.ts";
import { makeTempDir } from "../../harness/cluster.ts";

const SHA = "c".repeat(64);

function driver(store: Store, dataDir: string, sent: { topic: string; payload: Buffer }[]) {
  return new UpgradeDriver({
    store,
    signer: loadOrCreatePlanSigner(dataDir),
    log: createLogger({ level: "error", format: "text" }),
    cloudNode: "cloud",
    artifactSize: (sha) => (sha === SHA ? 1234 : undefined),
    publish: (topic, payload) => {
      sent.push({ topic, payload });
      return true;
    },
  });
}

function setNode(store: Store, name: string, phase: string, version: string) {
  store.db.query("UPDATE nodes SET phase = ?, agent_version = ? WHERE name = ?").run(phase, version, name);
}

describe("UpgradeDriver", () => {
  test("orders signed binaries one node at a time, moves on with reports, and survives a restart", () => {
    const dataDir = makeTempDir();
    let store = openStore({ dataDir, mode: "cloud" });
    for (const n of ["cloud", "edge1", "edge2"]) {
      registeredNode(store, n);
      setNode(store, n, "Ready", "1.0.0");
    }
    const sent: { topic: string; payload: Buffer }[] = [];
    const d = driver(store, dataDir, sent);
    const created = d.create({ version: "1.1.0", binaries: [{ target: "linux-x64", sha256: SHA }] });
    expect(created.nodes.map((n) => n.node)).toEqual(["edge1", "edge2"]);
    d.tick();
    expect(sent.map((s) => s.topic)).toEqual(["levee/v1/node/edge1/down"]);
    const decoded = decodeMessage("edge1", sent[0]?.payload ?? Buffer.alloc(0), "down");
    if (!decoded.ok || decoded.msg.type !== "upgrade") throw new Error("not an upgrade order");
    const [bin] = decoded.msg.binaries;
    if (!bin) throw new Error("no binary");
    const key = loadOrCreatePlanSigner(dataDir).key;
    expect(
      binarySignatureProblem(key, decoded.msg.keyId, { ...bin, version: "1.1.0" }, bin.signature),
    ).toBeUndefined();
    expect(bin.size).toBe(1234);

    const report = (node: string, state: "done" | "swapping") =>
      newMessage(node, {
        type: "upgrade-report",
        rollout: created.rollout.id,
        state,
        from: "1.0.0",
        to: "1.1.0",
        reason: "",
      });
    d.report("edge1", report("edge1", "done"));
    d.stop();
    store.close();

    // The cloud restarts: the rollout goes on from the store.
    store = openStore({ dataDir, mode: "cloud" });
    const again = driver(store, dataDir, sent);
    again.tick();
    expect(sent.map((s) => s.topic).at(-1)).toBe("levee/v1/node/edge2/down");
    again.report("edge2", report("edge2", "done"));
    again.tick();
    expect(again.status()?.rollout.state).toBe("done");
    again.stop();
    store.close();
  });

  test("a node deleted during the rollout leaves it (skipped: node deleted); the rollout ends done", () => {
    const dataDir = makeTempDir();
    const store = openStore({ dataDir, mode: "cloud" });
    for (const n of ["edge1", "edge2"]) {
      registeredNode(store, n);
      setNode(store, n, "Ready", "1.0.0");
    }
    const sent: { topic: string; payload: Buffer }[] = [];
    const d = driver(store, dataDir, sent);
    const created = d.create({ version: "1.1.0", binaries: [{ target: "linux-x64", sha256: SHA }] });
    d.tick();
    expect(d.status()?.nodes.map((n) => n.state)).toEqual(["ordered", "pending"]);
    expect(deleteNode(store, "edge1")).toBe(true);
    d.tick();
    expect(d.status()?.nodes[0]).toMatchObject({ node: "edge1", state: "skipped", reason: "node deleted" });
    expect(sent.map((s) => s.topic).at(-1)).toBe("levee/v1/node/edge2/down");
    d.report(
      "edge2",
      newMessage("edge2", {
        type: "upgrade-report",
        rollout: created.rollout.id,
        state: "done",
        from: "1.0.0",
        to: "1.1.0",
        reason: "",
      }),
    );
    d.tick();
    expect(d.status()?.rollout).toMatchObject({
      state: "done",
      reason: "every remaining node runs 1.1.0 (1 deleted during the rollout)",
    });
    store.close();
  });

  test("refusals: a downgrade, an unknown artifact, a second rollout while one runs", () => {
    const dataDir = makeTempDir();
    const store = openStore({ dataDir, mode: "cloud" });
    registeredNode(store, "edge1");
    setNode(store, "edge1", "Ready", "2.0.0");
    const d = driver(store, dataDir, []);
    const req = { version: "1.1.0", binaries: [{ target: "linux-x64", sha256: SHA }] };
    expect(() => d.create(req)).toThrow(/downgrade refused: node edge1 runs 2.0.0/);
    expect(() => d.create({ ...req, binaries: [{ target: "linux-x64", sha256: "d".repeat(64) }] })).toThrow(
      ApiError,
    );
    d.create({ ...req, allowDowngrade: true });
    expect(() => d.create({ ...req, allowDowngrade: true })).toThrow(/abort first/);
    expect(d.control("pause").rollout.state).toBe("paused");
    expect(d.control("abort").rollout.state).toBe("aborted");
    store.close();
  });
});
