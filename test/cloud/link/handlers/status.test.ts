// The cloud's status and routes handlers without a broker: worker status is stored (a worker's
// newer status replacing its row), and only after the commit does the ack go out (a sack at QoS 0
// to a node whose hello said it reads them, else a status-ack) and the control plane hear of it;
// routes replace what the node reported before.
import { describe, expect, test } from "bun:test";
import { handleHello } from "../../../../src/cloud/link/handlers/hello.ts";
import { handleRoutes } from "../../../../src/cloud/link/handlers/routes.ts";
import { handleStatus } from "../../../../src/cloud/link/handlers/status.ts";
import { listRoutes } from "../../../../src/cloud/link/sync-store.ts";
import { encodeSack } from "../../../../src/protocol/compact-messages.ts";
import { newMessage, type RouteStatusEntry } from "../../../../src/protocol/messages.ts";
import { downTopic } from "../../../../src/protocol/topics.ts";
import { workerStatus } from "../../../protocol/worker-status.ts";
import { cloudFixture, EPOCH, T0 } from "./fixture.ts";

const workerRows = (f: ReturnType<typeof cloudFixture>) =>
  f.store.db
    .query<{ service: string; idx: number; phase: string }, []>(
      "SELECT service, idx, phase FROM worker_status WHERE node = 'n1' ORDER BY service, idx",
    )
    .all();

describe("status", () => {
  test("stored at once; the status-ack of its seq and onStatus only after the commit", () => {
    const f = cloudFixture();
    const workers = [workerStatus("web", "Starting", 0), workerStatus("web", "Running", 1)];
    handleStatus(f.ctx, "n1", newMessage("n1", { type: "status", seq: 41, workers }));
    expect(workerRows(f)).toEqual([
      { service: "web", idx: 0, phase: "Starting" },
      { service: "web", idx: 1, phase: "Running" },
    ]);
    expect(f.nodeRow("n1")).toMatchObject({ last_seen: new Date(T0).toISOString() });
    expect(f.published).toEqual([]);
    expect(f.statuses).toEqual([]);
    f.commit();
    expect(f.down().map((d) => d.msg)).toEqual([expect.objectContaining({ type: "status-ack", seq: 41 })]);
    expect(f.statuses).toEqual([["n1", workers]]);
  });

  test("a worker's newer status replaces its row; other workers' rows stay", () => {
    const f = cloudFixture();
    const first = [workerStatus("web", "Starting", 0), workerStatus("db", "Running", 0)];
    handleStatus(f.ctx, "n1", newMessage("n1", { type: "status", seq: 1, workers: first }));
    handleStatus(
      f.ctx,
      "n1",
      newMessage("n1", { type: "status", seq: 2, workers: [workerStatus("web", "Running", 0)] }),
    );
    expect(workerRows(f)).toEqual([
      { service: "db", idx: 0, phase: "Running" },
      { service: "web", idx: 0, phase: "Running" },
    ]);
    f.commit();
    expect(f.down().map((d) => d.msg)).toEqual([
      expect.objectContaining({ type: "status-ack", seq: 1 }),
      expect.objectContaining({ type: "status-ack", seq: 2 }),
    ]);
  });
});

describe("status acks by what the node's hello said", () => {
  const hello = (compactAcks?: boolean) =>
    newMessage("n1", {
      type: "hello",
      epoch: EPOCH,
      appliedRevision: 0,
      planHash: null,
      agentVersion: "v",
      bootId: "b",
      addresses: [],
      ...(compactAcks === undefined ? {} : { compactAcks }),
    });
  test("a node that reads sacks gets a sack of the seq, at QoS 0, after the commit", () => {
    const f = cloudFixture();
    handleHello(f.ctx, "n1", hello(true));
    f.commit();
    f.published.length = 0;
    handleStatus(f.ctx, "n1", newMessage("n1", { type: "status", seq: 7, workers: [] }));
    expect(f.published).toEqual([]);
    f.commit();
    expect(f.published).toEqual([
      { topic: downTopic("n1"), payload: encodeSack(7), retain: false, unacked: true },
    ]);
    expect(f.down().map((d) => d.msg)).toEqual([{ v: 1, node: "n1", type: "sack", s: 7 }]);
    // The sack is the few bytes it is meant to be: no id, no timestamp, no node.
    expect(encodeSack(7).toString()).toBe('{"v":1,"type":"sack","s":7}');
  });

  test("a node whose hello did not say so (an older agent) gets a full status-ack at QoS 1", () => {
    for (const said of [undefined, false]) {
      const f = cloudFixture();
      handleHello(f.ctx, "n1", hello(said));
      handleStatus(f.ctx, "n1", newMessage("n1", { type: "status", seq: 8, workers: [] }));
      f.commit();
      const ack = f.published.find((p) => p.payload.includes("status-ack"));
      expect(ack?.unacked).toBeUndefined();
      expect(f.down().map((d) => d.msg.type)).toEqual(["welcome", "status-ack"]);
    }
  });

  test("a later hello without the flag (the agent was downgraded) brings full status-acks back", () => {
    const f = cloudFixture();
    handleHello(f.ctx, "n1", hello(true));
    handleStatus(f.ctx, "n1", newMessage("n1", { type: "status", seq: 1, workers: [] }));
    handleHello(f.ctx, "n1", hello());
    handleStatus(f.ctx, "n1", newMessage("n1", { type: "status", seq: 2, workers: [] }));
    f.commit();
    expect(f.down().map((d) => d.msg.type)).toEqual(["welcome", "sack", "welcome", "status-ack"]);
    expect(f.state.nodeReads("n1", "compactAcks")).toBe(false);
  });
});

describe("routes", () => {
  const route = (service: string, port: number): RouteStatusEntry => ({
    service,
    kind: "service-port",
    port,
    state: "applied",
    message: "",
    since: "2030-01-01T00:00:00.000Z",
  });

  test("the latest report replaces the node's routes whole", () => {
    const f = cloudFixture();
    handleRoutes(
      f.ctx,
      "n1",
      newMessage("n1", { type: "routes", routes: [route("a", 8080), route("b", 8081)] }),
    );
    expect(listRoutes(f.store, { node: "n1" }).map((r) => r.service)).toEqual(["a", "b"]);
    handleRoutes(f.ctx, "n1", newMessage("n1", { type: "routes", routes: [route("b", 8081)] }));
    expect(listRoutes(f.store, { node: "n1" })).toEqual([{ node: "n1", ...route("b", 8081) }]);
    f.commit();
    expect(f.published).toEqual([]);
  });
});
