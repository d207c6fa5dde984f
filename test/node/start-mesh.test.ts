// The mesh is given the node's catalog store and its workers when it is made, so it hears every
// change from its start on: a catalog stored after the mesh started opens the service's port, one
// stored before is routed at once, a worker change opens the upstream ports of its service, and
// shutting down stops listening to both. A real MeshAgent on loopback; a fake supervisor.
import { afterEach, describe, expect, test } from "bun:test";
import { EventEmitter } from "node:events";
import { Registry } from "prom-client";
import type { AgentConfig } from "../../src/config/agent-config.ts";
import { CatalogStore } from "../../src/mesh/catalog/catalog-store.ts";
import type { Catalog } from "../../src/mesh/contracts.ts";
import type { NftRunner } from "../../src/mesh/fastpath/nft.ts";
import type { CounterValue } from "../../src/mesh/fastpath/ruleset.ts";
import { type MeshWorkers, startMesh } from "../../src/node/start-mesh.ts";
import type { WorkerSnapshot } from "../../src/node/workers/supervisor.ts";
import type { RouteStatusEntry } from "../../src/protocol/messages.ts";
import { Readiness } from "../../src/runtime/health.ts";
import { createLogger } from "../../src/runtime/log.ts";
import { Lifecycle } from "../../src/runtime/shutdown.ts";
import { openStore, type Store } from "../../src/store/store.ts";
import { makeTempDir } from "../harness/cluster.ts";
import { testCa } from "../mesh/transport/fixtures.ts";

const log = createLogger({ level: "error", format: "json", write: () => {} });
const credentials = testCa().node("edge1");

/** A port nothing listens on right now. */
function freePort(): number {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

function config(dataDir: string): AgentConfig {
  return {
    mode: "edge",
    dataDir,
    nodeName: "edge1",
    bindAddress: "127.0.0.1",
    advertiseAddress: "127.0.0.1",
    agentListen: { host: "127.0.0.1", port: 0 },
    tunnelListen: { host: "127.0.0.1", port: 0 },
    proxyListen: { host: "127.0.0.1", port: 0 },
    meshRelayOnly: false,
    meshFastPath: "off",
    peerFetch: "off",
    meshThreads: 1,
    stopWorkersOnExit: false,
    dockerSocket: "/nonexistent",
    logLevel: "error",
    logFormat: "json",
  };
}

/** The supervisor as the mesh sees it: its workers, and a "change" event. */
class FakeWorkers extends EventEmitter<{ change: [WorkerSnapshot] }> implements MeshWorkers {
  workers: WorkerSnapshot[] = [];
  snapshot(): WorkerSnapshot[] {
    return this.workers;
  }
  run(service: string, port: number): void {
    const worker = {
      service,
      index: 0,
      phase: "running",
      ready: true,
      port,
      pid: 1,
      containerId: null,
      restarts: 0,
      message: "",
    };
    this.workers.push(worker);
    this.emit("change", worker);
  }
}

function catalog(revision: number, servicePort: number, upstreamPort: number): Catalog {
  return {
    v: 1,
    revision,
    epoch: "e1",
    nodes: [],
    services: [
      {
        name: "app",
        port: servicePort,
        protocol: "http",
        balance: "round-robin",
        fallback: "none",
        upstreams: [{ service: "db", node: "cloud", localPort: upstreamPort }],
        workers: [],
      },
    ],
  };
}

let store: Store;
let lifecycle: Lifecycle;
afterEach(async () => {
  await lifecycle.shutdown();
  store.close();
});

/** nftables as the fast path sees it: the scripts applied, counters as given. */
class FakeNft implements NftRunner {
  scripts: string[] = [];
  values = new Map<string, CounterValue>();
  async apply(script: string): Promise<void> {
    this.scripts.push(script);
  }
  async counters(): Promise<Map<string, CounterValue>> {
    return new Map(this.values);
  }
  allowLoopbackDnat(): void {}
}

function setup(extra: Partial<AgentConfig> = {}) {
  const dataDir = makeTempDir();
  store = openStore({ dataDir, mode: "edge" });
  lifecycle = new Lifecycle(log);
  const catalogStore = new CatalogStore(store);
  const workers = new FakeWorkers();
  const nft = new FakeNft();
  const readiness = new Readiness();
  const metrics = new Registry();
  const reported: RouteStatusEntry[][] = [];
  const start = () =>
    startMesh(
      { config: { ...config(dataDir), ...extra }, log, lifecycle, metrics, readiness },
      {
        node: "edge1",
        catalog: catalogStore,
        workers,
        credentials: { current: () => credentials, ready: Promise.resolve(credentials), close() {} },
        fallbackRelayHost: "127.0.0.1",
        reportRoutes: (routes) => reported.push(routes),
        nft,
      },
    );
  return { catalogStore, workers, start, nft, readiness, metrics, reported };
}

const routesOf = (mesh: ReturnType<ReturnType<typeof setup>["start"]>) =>
  mesh
    .routes()
    .filter((r) => r.state !== "removed")
    .map((r) => `${r.kind}:${r.service}:${r.port}`);

describe("startMesh", () => {
  test("a catalog stored after the mesh started reaches it; so does a worker that starts", () => {
    const { catalogStore, workers, start } = setup();
    const mesh = start();
    expect(routesOf(mesh)).toEqual([]);
    const [servicePort, upstreamPort] = [freePort(), freePort()];
    expect(catalogStore.offer(catalog(1, servicePort, upstreamPort))).toBe("accept");
    expect(routesOf(mesh)).toEqual([`service-port:app:${servicePort}`]);
    // The upstream port of a service opens where the service runs: once its worker does.
    workers.run("app", freePort());
    expect(routesOf(mesh)).toEqual([`service-port:app:${servicePort}`, `upstream:app:${upstreamPort}`]);
  });

  test("a catalog stored before the mesh started is routed at once", () => {
    const { catalogStore, start } = setup();
    const servicePort = freePort();
    catalogStore.offer(catalog(1, servicePort, freePort()));
    expect(routesOf(start())).toEqual([`service-port:app:${servicePort}`]);
  });

  test("at shutdown the mesh stops listening to the catalog and the workers", async () => {
    const { catalogStore, workers, start } = setup();
    start();
    expect([catalogStore.listenerCount("change"), workers.listenerCount("change")]).toEqual([1, 1]);
    await lifecycle.shutdown();
    expect([catalogStore.listenerCount("change"), workers.listenerCount("change")]).toEqual([0, 0]);
  });

  test("--mesh-fast-path auto: a service port its one ready worker serves goes to the kernel, visibly", async () => {
    const { catalogStore, workers, start, nft, readiness, metrics, reported } = setup({
      meshFastPath: "auto",
    });
    const mesh = start();
    const servicePort = freePort();
    catalogStore.offer(catalog(1, servicePort, freePort()));
    const workerPort = freePort();
    workers.run("app", workerPort);
    const service = () => mesh.routes().find((r) => r.kind === "service-port");
    await until(() => service()?.path === "kernel");
    expect(service()?.pathReason).toContain(`127.0.0.1:${workerPort}`);
    expect(nft.scripts.at(-1)).toContain(`tcp dport ${servicePort} ip daddr 127.0.0.1 counter`);
    expect(nft.scripts.at(-1)).toContain(`dnat ip to 127.0.0.1:${workerPort}`);
    expect(reported.at(-1)?.find((r) => r.kind === "service-port")?.message).toContain("kernel fast path");
    expect(readiness.describe()["mesh fast path"]).toBe(
      "nftables table inet levee-edge-edge1: 1 route(s) on the kernel's path",
    );
    nft.values.set(`conns-${servicePort}`, { packets: 3, bytes: 180 });
    nft.values.set(`to-worker-${servicePort}`, { packets: 9, bytes: 900 });
    const text = await metrics.metrics();
    expect(text).toContain('levee_mesh_fast_path_connections_total{service="app",node="edge1"} 3');
    expect(text).toContain(
      'levee_mesh_fast_path_bytes_total{service="app",node="edge1",direction="to-worker"} 900',
    );
    // Not ready any more: out of the kernel's table, on the userspace path (which answers 503).
    const worker = workers.workers[0] as WorkerSnapshot;
    worker.ready = false;
    workers.emit("change", worker);
    await until(() => service()?.path === "userspace");
    expect(nft.scripts.at(-1)).toBe("add table inet levee-edge-edge1\ndelete table inet levee-edge-edge1\n");
    // The workers keep running after the agent: so does the table.
    worker.ready = true;
    workers.emit("change", worker);
    await until(() => service()?.path === "kernel");
    const applied = nft.scripts.length;
    await lifecycle.shutdown();
    expect(nft.scripts.length).toBe(applied);
  });

  test("the workers stop with the agent: so does the table", async () => {
    const { catalogStore, workers, start, nft } = setup({ meshFastPath: "auto", stopWorkersOnExit: true });
    const mesh = start();
    catalogStore.offer(catalog(1, freePort(), freePort()));
    workers.run("app", freePort());
    await until(() => mesh.routes().some((r) => r.path === "kernel"));
    await lifecycle.shutdown();
    expect(nft.scripts.at(-1)).toBe("add table inet levee-edge-edge1\ndelete table inet levee-edge-edge1\n");
  });
});

async function until(check: () => boolean, ms = 3000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) throw new Error("timed out");
    await Bun.sleep(10);
  }
}
