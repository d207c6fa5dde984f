// The kube-api prestart step and the variables a worker with kubeApi gets, against a real store:
// the token it writes identifies the instance once the record names it; the files (token without
// a newline, the agent's CA, the namespace) with their modes; the container's read-only mount at
// the standard path; an exec worker's mount namespace or, where there is none, only
// LEVEE_SERVICEACCOUNT_DIR and one warning; nothing at all without kubeApi.
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { kubeAccess } from "../../../../src/node/kube-access/kube-access.ts";
import { loadOrCreateKubeCa } from "../../../../src/node/kube-access/kube-tls.ts";
import { SERVICE_ACCOUNT_PATH } from "../../../../src/node/kube-access/service-account-files.ts";
import { identifyWorkerToken } from "../../../../src/node/kube-access/worker-tokens.ts";
import { desiredWorker } from "../../../../src/node/workers/desired.ts";
import { WorkerSpecError } from "../../../../src/node/workers/drivers/driver.ts";
import { instanceEnv } from "../../../../src/node/workers/prestart/env-step.ts";
import { fileAccess, kubeApiStep } from "../../../../src/node/workers/prestart/kube-api-step.ts";
import type { Launch, PrestartRequest } from "../../../../src/node/workers/prestart/prestart-step.ts";
import { newRecord } from "../../../../src/node/workers/worker-records.ts";
import { WorkerStore } from "../../../../src/node/workers/worker-store.ts";
import { createLogger } from "../../../../src/runtime/log.ts";
import { openStore, type Store } from "../../../../src/store/store.ts";
import { makeTempDir } from "../../../harness/cluster.ts";
import { template } from "../lifecycle-helpers.ts";

const empty: Launch = { mounts: [], mountEnv: {}, port: undefined, env: {} };
let store: Store | undefined;
afterEach(() => store?.close());

function setup(options: { namespaceProblem?: string } = {}) {
  const dataDir = join(makeTempDir(), "data");
  store = openStore({ dataDir, mode: "edge" });
  const access = kubeAccess({ db: store.db, dataDir, node: "edge1", host: "10.0.0.7", port: 6443 });
  const warnings: string[] = [];
  const log = createLogger({ level: "debug", format: "text", write: (line) => warnings.push(line) });
  const step = kubeApiStep({ kubeAccess: access, log, namespaceProblem: () => options.namespaceProblem });
  return { dataDir, store, access, step, warnings };
}

function request(service: string, fields: Record<string, unknown>, dataDir: string, launch = empty) {
  const req: PrestartRequest = {
    desired: desiredWorker(service, 0, 1, template(fields), {}),
    instance: `i-${Math.random()}`,
    workerDir: join(dataDir, "workers", service, "0"),
    heldPort: undefined,
    signal: new AbortController().signal,
    waiting: () => {},
    launch,
  };
  return req;
}

const mode = (path: string) => statSync(path).mode & 0o777;

describe("kubeApiStep", () => {
  test("without kubeApi: nothing, no token", async () => {
    const { step, dataDir, store: s } = setup();
    expect(await step.prestart(request("web", {}, dataDir))).toEqual({});
    expect(s.db.query<{ n: number }, []>("SELECT count(*) AS n FROM kube_tokens").get()?.n).toBe(0);
  });

  test("exec with a mount namespace: the files, and the directory to bind; the token names the instance", async () => {
    const { step, dataDir, store: s } = setup();
    const req = request("processor.dayu", { kubeApi: { serviceAccount: "worker-admin" } }, dataDir);
    const part = await step.prestart(req);
    const dir = join(req.workerDir, "serviceaccount");
    expect(part).toEqual({ serviceAccountDir: dir });
    const token = readFileSync(join(dir, "token"), "utf8");
    expect(token).toMatch(/^lvwk_[A-Za-z0-9_-]{43}$/); // no trailing newline
    expect(readFileSync(join(dir, "namespace"), "utf8")).toBe("dayu");
    expect(readFileSync(join(dir, "ca.crt"), "utf8")).toBe(loadOrCreateKubeCa(dataDir, "edge1").cert);
    expect(mode(dir)).toBe(0o700);
    expect(mode(join(dir, "token"))).toBe(0o600);
    expect(mode(join(dir, "ca.crt"))).toBe(0o644);
    // The record names the instance when the driver starts it (launchInstance): then it identifies it.
    expect(identifyWorkerToken(s.db, token)).toBeUndefined();
    new WorkerStore(s).save({ ...newRecord(req.desired), instance: req.instance });
    expect(identifyWorkerToken(s.db, token)).toMatchObject({
      service: "processor.dayu",
      index: 0,
      instance: req.instance,
      namespace: "dayu",
      serviceAccount: "worker-admin",
      node: "edge1",
    });
  });

  test("a container: the directory mounted read-only at the standard path, after its own mounts", async () => {
    const { step, dataDir } = setup();
    const own = { hostPath: "/srv/models", target: "/models", readOnly: true };
    const req = request("web", { driver: "container", image: "busybox", kubeApi: {} }, dataDir, {
      ...empty,
      mounts: [own],
    });
    const part = await step.prestart(req);
    const dir = join(req.workerDir, "serviceaccount");
    expect(part).toEqual({ mounts: [own, { hostPath: dir, target: SERVICE_ACCOUNT_PATH, readOnly: true }] });
    expect(readFileSync(join(dir, "namespace"), "utf8")).toBe("default");
    // The image's user is unknown here: readable as a pod's service account volume is.
    expect(mode(join(dir, "token"))).toBe(0o644);
    const taken = request("web", { driver: "container", image: "busybox", kubeApi: {} }, dataDir, {
      ...empty,
      mounts: [{ hostPath: "/x", target: SERVICE_ACCOUNT_PATH, readOnly: true }],
    });
    await expect(step.prestart(taken)).rejects.toThrow(WorkerSpecError);
  });

  test("exec without a mount namespace: no bind, one warning that says why", async () => {
    const { step, dataDir, warnings } = setup({ namespaceProblem: "the agent does not run as root" });
    const fields = { kubeApi: {} };
    expect(await step.prestart(request("web", fields, dataDir))).toEqual({});
    expect(await step.prestart(request("web", fields, dataDir))).toEqual({});
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("the agent does not run as root");
    expect(warnings[0]).toContain("LEVEE_SERVICEACCOUNT_DIR");
    expect(warnings[0]).not.toContain("lvwk_");
  });

  test("an agent without a Kubernetes API (--kube-port 0): the worker fails, saying so", async () => {
    const dataDir = join(makeTempDir(), "data");
    const step = kubeApiStep({
      kubeAccess: undefined,
      log: createLogger({ level: "error", format: "text", write: () => {} }),
    });
    await expect(step.prestart(request("web", { kubeApi: {} }, dataDir))).rejects.toThrow(/kube-port/);
  });
});

describe("the environment of a worker with kubeApi", () => {
  const ctx = {
    node: "edge1",
    dataDir: "/data",
    agentUrl: "http://127.0.0.1:7401",
    kubeAccess: { host: "10.0.0.7", port: 6443 },
  };
  const env = (fields: Record<string, unknown>) =>
    instanceEnv(ctx, desiredWorker("web", 3, 1, template(fields), {}), "i", undefined, {});

  test("the agent's API address wins over the template's; exec workers also get their directory", () => {
    const e = env({
      kubeApi: {},
      env: { KUBERNETES_SERVICE_HOST: "apiserver", KUBERNETES_SERVICE_PORT: "1" },
    });
    expect(e.KUBERNETES_SERVICE_HOST).toBe("10.0.0.7");
    expect(e.KUBERNETES_SERVICE_PORT).toBe("6443");
    expect(e.LEVEE_SERVICEACCOUNT_DIR).toBe("/data/workers/web/3/serviceaccount");
    const c = env({ driver: "container", image: "busybox", kubeApi: {} });
    expect(c.KUBERNETES_SERVICE_HOST).toBe("10.0.0.7");
    expect(c.LEVEE_SERVICEACCOUNT_DIR).toBeUndefined();
  });

  test("without kubeApi the template's variables stay as written, and nothing is added", () => {
    const e = env({ env: { KUBERNETES_SERVICE_HOST: "apiserver" } });
    expect(e.KUBERNETES_SERVICE_HOST).toBe("apiserver");
    expect(e.KUBERNETES_SERVICE_PORT).toBeUndefined();
    expect(e.LEVEE_SERVICEACCOUNT_DIR).toBeUndefined();
  });
});

describe("fileAccess: who may read the files", () => {
  const exec = (fields: Record<string, unknown>) => template(fields);
  const container = (fields: Record<string, unknown>) =>
    template({ driver: "container", image: "busybox", ...fields });

  test("exec: the agent's user, or the worker's when the agent is root", () => {
    expect(fileAccess(exec({}), true)).toEqual({ shared: false });
    expect(fileAccess(exec({ user: 1000, group: 1001 }), true)).toEqual({
      owner: { uid: 1000, gid: 1001 },
      shared: false,
    });
    expect(fileAccess(exec({ user: 1000 }), false)).toEqual({ shared: false });
  });

  test("containers: the numeric user owns them; an unknown user reads them as on Kubernetes", () => {
    expect(fileAccess(container({ user: 1000 }), true)).toEqual({
      owner: { uid: 1000, gid: undefined },
      shared: false,
    });
    expect(fileAccess(container({ user: "1000", group: "5" }), true)).toEqual({
      owner: { uid: 1000, gid: 5 },
      shared: false,
    });
    expect(fileAccess(container({}), true)).toEqual({ shared: true });
    expect(fileAccess(container({ user: "app" }), true)).toEqual({ shared: true });
    expect(fileAccess(container({ user: 1000 }), false)).toEqual({ shared: true });
  });
});
