// A container worker with kubeApi against a real dockerd: the kube-api prestart step's files appear
// read-only at /var/run/secrets/kubernetes.io/serviceaccount inside the container, the token read
// there identifies the instance, KUBERNETES_SERVICE_HOST/PORT are the agent's, and a numeric user
// reads its private token file.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { SERVICE_ACCOUNT_PATH } from "../../../../src/node/kube-access/service-account-files.ts";
import { identifyWorkerToken } from "../../../../src/node/kube-access/worker-tokens.ts";
import type { Store } from "../../../../src/store/store.ts";
import { dockerSkipReason } from "../../../harness/docker.ts";
import { containerFixture, testInstanceKey } from "../../../harness/docker-fixture.ts";
import { waitUntil } from "../../../harness/process.ts";
import { kubePrestart } from "./kube-prestart.ts";

const skip = await dockerSkipReason();
if (skip) console.warn(`skipping the container kubeApi tests: ${skip}`);

describe.skipIf(skip !== undefined)("a container worker with kubeApi", () => {
  const f = containerFixture("container-kube-api");
  beforeAll(f.setup, 120_000);
  afterAll(f.cleanup);
  let store: Store | undefined;
  afterEach(() => store?.close());

  async function run(template: Record<string, unknown>) {
    const dataDir = join(f.freshDir("data", 0o700), "data");
    const spec = f.launch(template, { key: testInstanceKey({ service: "processor.dayu" }) });
    const api = { host: "10.0.0.7", port: 6443 };
    const prepared = await kubePrestart(dataDir, "processor.dayu", spec.template, spec.key.instance, api);
    store = prepared.store;
    const { launch, workerDir } = prepared;
    const instance = await f.start({ ...spec, env: launch.env, mounts: launch.mounts, workerDir });
    let logs = "";
    await waitUntil("the container said done", async () => {
      logs = await f.logsOf(instance);
      return logs.includes("done");
    });
    return { logs, instance: spec.key.instance, db: prepared.store.db };
  }

  const SA = SERVICE_ACCOUNT_PATH;

  test("reads its token at the standard path, read-only; the token identifies it", async () => {
    const script = `echo "token=$(cat ${SA}/token)"; echo "ns=$(cat ${SA}/namespace)"; echo "api=$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT"; grep -c BEGIN ${SA}/ca.crt; touch ${SA}/x 2>/dev/null || echo read-only; echo done; sleep 30`;
    const { logs, instance, db } = await run({
      command: ["sh", "-c", script],
      kubeApi: { serviceAccount: "worker-admin" },
    });
    expect(logs).toContain("ns=dayu\n");
    expect(logs).toContain("api=10.0.0.7:6443\n");
    expect(logs).toContain("1\nread-only\n");
    const token = /token=(\S+)/.exec(logs)?.[1] ?? "";
    expect(identifyWorkerToken(db, token)).toMatchObject({
      service: "processor.dayu",
      instance,
      namespace: "dayu",
      serviceAccount: "worker-admin",
    });
  }, 30_000);

  test("a numeric user reads its own private token", async () => {
    const script = `id -u; cat ${SA}/token >/dev/null && echo readable; echo done; sleep 30`;
    const { logs } = await run({ command: ["sh", "-c", script], user: 1234, kubeApi: {} });
    expect(logs).toBe("1234\nreadable\ndone\n");
  }, 30_000);
});
