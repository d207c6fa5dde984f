// What the worker controller's tests share: a temporary root with a port registry, nodes made of
// one fake driver each (the statuses their workers report, in order), and controllers on them that
// are detached after each test (real timers restored), the root removed after the file.
import { afterAll, afterEach, jest } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DesiredWorker } from "../../../src/node/workers/desired.ts";
import type { ArtifactSource } from "../../../src/node/workers/prestart/mount-resolver.ts";
import { PortRegistry } from "../../../src/node/workers/prestart/port-registry.ts";
import { WorkerController } from "../../../src/node/workers/worker-controller.ts";
import type { WorkerDeps } from "../../../src/node/workers/worker-deps.ts";
import { newRecord } from "../../../src/node/workers/worker-records.ts";
import type { WorkerRecord } from "../../../src/node/workers/worker-store.ts";
import type { WorkerStatus } from "../../../src/protocol/messages.ts";
import { FakeDriver } from "./fake-driver.ts";
import { quietLog } from "./lifecycle-helpers.ts";

/** Registers the hooks of one test file; `node()` makes a node for one test. */
export function controllerTestbed(prefix: string) {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const ports = new PortRegistry(join(root, "ports.db"), root);
  const controllers: WorkerController[] = [];
  afterEach(() => {
    for (const c of controllers.splice(0)) c.detach();
    jest.useRealTimers();
  });
  afterAll(() => {
    ports.close();
    rmSync(root, { recursive: true, force: true });
  });

  /** A node: one fake driver, the statuses its workers report, and controllers made on it. */
  function node(options: { artifacts?: ArtifactSource } = {}) {
    const dataDir = mkdtempSync(join(root, "data-"));
    const driver = new FakeDriver();
    const statuses: WorkerStatus[] = [];
    const removed: string[] = [];
    const deps: WorkerDeps = {
      node: "edge1",
      dataDir,
      agentId: dataDir,
      agentUrl: "http://127.0.0.1:7070",
      log: quietLog,
      driver: () => driver,
      ports,
      artifacts: options.artifacts,
      configFiles: undefined,
      rotator: undefined,
      save: () => {},
      remove: (service, index) => removed.push(`${service}/${index}`),
      changed: (status, record) => {
        statuses.push(status);
        driver.timeline.push(`${status.phase} ${record.pid ?? "-"}`);
      },
    };
    const controller = (d: DesiredWorker, record: WorkerRecord = newRecord(d)) => {
      const c = new WorkerController(deps, d, record);
      controllers.push(c);
      return c;
    };
    const messages = () => statuses.map((s) => s.message);
    return { driver, statuses, removed, controller, messages };
  }

  return { root, node };
}
