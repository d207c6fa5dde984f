// What the driver tests of kubeApi workers share: a real store in `dataDir` and the prestart steps a
// kubeApi worker goes through (worker dir, kube-api, env) as the controller runs them, with the
// instance recorded as the driver's start would leave it, so that its token identifies it.
import { join } from "node:path";
import type { Template } from "../../../../src/manifest/template.ts";
import { kubeAccess } from "../../../../src/node/kube-access/kube-access.ts";
import { desiredWorker } from "../../../../src/node/workers/desired.ts";
import { envStep } from "../../../../src/node/workers/prestart/env-step.ts";
import { kubeApiStep } from "../../../../src/node/workers/prestart/kube-api-step.ts";
import { type Launch, runPrestart } from "../../../../src/node/workers/prestart/prestart-step.ts";
import { workerDirStep } from "../../../../src/node/workers/prestart/worker-dir-step.ts";
import { newRecord } from "../../../../src/node/workers/worker-records.ts";
import { WorkerStore } from "../../../../src/node/workers/worker-store.ts";
import { createLogger } from "../../../../src/runtime/log.ts";
import { openStore, type Store } from "../../../../src/store/store.ts";

export interface KubePrestart {
  store: Store;
  launch: Launch;
  workerDir: string;
}

/** Opens a store in dataDir and runs the prestart of worker 0 of `service` for `instance`. */
export async function kubePrestart(
  dataDir: string,
  service: string,
  template: Template,
  instance: string,
  api = { host: "127.0.0.1", port: 6443 },
): Promise<KubePrestart> {
  const store = openStore({ dataDir, mode: "edge" });
  const deps = {
    node: "edge1",
    dataDir,
    agentUrl: "http://127.0.0.1:7401",
    kubeAccess: kubeAccess({ db: store.db, dataDir, node: "edge1", ...api }),
    log: createLogger({ level: "error", format: "text" }),
  };
  const desired = desiredWorker(service, 0, 1, template, {});
  const workerDir = join(dataDir, "workers", service, "0");
  const launch = await runPrestart([workerDirStep(), kubeApiStep(deps), envStep(deps)], {
    desired,
    instance,
    workerDir,
    heldPort: undefined,
    signal: new AbortController().signal,
    waiting: () => {},
  });
  if (!launch) throw new Error("prestart aborted");
  new WorkerStore(store).save({ ...newRecord(desired), instance });
  return { store, launch, workerDir };
}
