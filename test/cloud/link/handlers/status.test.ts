// The cloud's status and routes handlers without a broker: worker status is stored (a worker's
// newer status replacing its row), and only after the commit does the status-ack go out and the
// control plane hear of it; routes replace what the node reported before.
import { describe, expect, test } from "bun:test";
import { handleRoutes } from "../../../../src/cloud/link/handlers/routes.ts";
import { handleStatus } from "../../../../src/cloud/link/handlers/status.ts";
import { listRoutes } from "../../../../src/cloud/link/sync-store.ts";
import { newMessage, type RouteStatusEntry } from "../../../../src/protocol/messages.ts";
import { workerStatus } from "../../../protocol/worker-status.ts";
import { cloudFixture, T0 } from "./fixture.ts";

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
