// What the Kubernetes API tests share: Debian's python3 with python3-kubernetes (which .ci/run
// installs; CI must not skip the tests that need it), the fixture that makes Dayu's calls, an
// ImageMap that runs Dayu's container images `levee-test/who:*` as the test HTTP worker, and the
// cloud's Kubernetes API in-process.
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Hono } from "hono";
import { NodeCredentials } from "../../src/cloud/api/node-auth.ts";
import type { ControlPlane } from "../../src/cloud/control-plane.ts";
import { CloudKubeAuth } from "../../src/cloud/kube/cloud-auth.ts";
import { CloudKube } from "../../src/cloud/kube/cloud-kube.ts";
import { kubeApiApp } from "../../src/kube/routes.ts";
import { createLogger } from "../../src/runtime/log.ts";
import type { Store } from "../../src/store/store.ts";
import { ADMIN_TOKEN } from "./cloud-api.ts";
import { BUN, REPO_ROOT } from "./process.ts";

export const PYTHON = "/usr/bin/python3";
export const DAYU_CALLS = join(REPO_ROOT, "test/fixtures/dayu_kube_calls.py");

export const HAVE_PYTHON_CLIENT =
  existsSync(PYTHON) && Bun.spawnSync([PYTHON, "-c", "import kubernetes"]).exitCode === 0;
if (process.env.CI && !HAVE_PYTHON_CLIENT)
  throw new Error("CI: /usr/bin/python3 with python3-kubernetes is required");

export const WHO_IMAGE_MAP = {
  apiVersion: "levee/v1",
  kind: "ImageMap",
  metadata: { name: "kube-test" },
  spec: {
    images: [
      { imagePrefix: "levee-test/who:", command: [BUN, join(REPO_ROOT, "test/fixtures/http-worker.ts")] },
    ],
  },
};

/**
 * The cloud's Kubernetes API in this process, over an in-process cloud's store and control plane
 * (test/harness/cloud-api.ts): the admin token is ADMIN_TOKEN, no worker tokens. The caller closes
 * `kube` (afterAll).
 */
export function inProcessKubeApi(
  store: Store,
  plane: ControlPlane,
  restartWorker: (service: string, node: string, index: number) => void = () => {},
): { kube: CloudKube; app: Hono } {
  const kube = new CloudKube({
    store,
    plane,
    apiAddress: () => ({ host: "10.0.0.1", port: 6443, since: "2026-12-01T00:00:00Z" }),
    restartWorker,
  });
  const app = kubeApiApp({
    backend: kube,
    auth: new CloudKubeAuth({
      store,
      adminToken: ADMIN_TOKEN,
      nodes: new NodeCredentials(store),
      identifyWorker: () => undefined,
    }),
    log: createLogger({ level: "error", format: "json", write: () => {} }),
    leveeVersion: "test",
  }) as unknown as Hono;
  return { kube, app };
}
