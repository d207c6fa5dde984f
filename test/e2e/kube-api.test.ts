// Dayu's own Kubernetes calls against levee, with real clients: the official Python client (Debian
// python3-kubernetes, run as /usr/bin/python3) making the calls Dayu's backend and components make
// (test/fixtures/dayu_kube_calls.py), and kubectl with the kubeconfig `levee ctl kubeconfig`
// prints. A cloud and two edges; the processor runs as a process through an ImageMap.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Cluster, makeTempDir, runLevee, startCluster, waitUntil } from "../harness/cluster.ts";
import { DAYU_CALLS, HAVE_PYTHON_CLIENT, PYTHON, WHO_IMAGE_MAP } from "../harness/kube.ts";

const KUBECTL = Bun.which("kubectl");
if (process.env.CI && !KUBECTL) throw new Error("CI: kubectl is required (Debian kubernetes-client)");

let c: Cluster;
let kubeconfig: string;
/** kubectl's discovery cache: one per run (another cluster may have had this address before). */
let cacheDir: string;

// biome-ignore lint/suspicious/noExplicitAny: JSON answers, read by path in assertions
type Any = any;

async function py(action: string, ...args: string[]): Promise<Any> {
  const proc = Bun.spawn([PYTHON, DAYU_CALLS, "admin", kubeconfig, action, ...args], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  await proc.exited;
  if (!out.trim()) throw new Error(`python ${action}: no answer; stderr: ${err}`);
  return JSON.parse(out);
}

async function kubectl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([KUBECTL as string, "--kubeconfig", kubeconfig, "--cache-dir", cacheDir, ...args], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
  ]);
  return { code: await proc.exited, stdout, stderr };
}

function processor(namespace: string, node: string) {
  const pod = (nodeName: string) => ({
    template: {
      spec: {
        nodeName,
        serviceAccountName: "worker-admin",
        containers: [
          {
            name: "processor",
            image: "levee-test/who:1",
            env: [{ name: "GUNICORN_PORT", value: "9000" }],
          },
        ],
      },
    },
  });
  return {
    apiVersion: "sedna.io/v1alpha1",
    kind: "JointMultiEdgeService",
    metadata: { name: `processor-car-detection-${node}`, namespace },
    spec: {
      serviceConfig: { pos: "both", port: 9000, targetPort: 9000 },
      edgeWorker: [pod(node)],
      cloudWorker: pod("cloud"),
    },
  };
}

beforeAll(async () => {
  c = await startCluster({ edges: 2 });
  const res = await c.cloud.api("/api/v1/apply", { method: "POST", body: JSON.stringify([WHO_IMAGE_MAP]) });
  expect(res.status).toBe(200);
  const dir = makeTempDir();
  kubeconfig = join(dir, "kubeconfig");
  cacheDir = join(dir, "kube-cache");
  const printed = await runLevee([
    "ctl",
    "kubeconfig",
    "--server",
    c.cloud.apiUrl,
    "--token",
    c.cloud.adminToken,
  ]);
  expect(printed.code, printed.stderr).toBe(0);
  writeFileSync(kubeconfig, printed.stdout);
  chmodSync(kubeconfig, 0o600);
}, 60_000);

afterAll(async () => {
  await c?.destroy();
});

describe.skipIf(!HAVE_PYTHON_CLIENT)("Dayu's calls with the Python client", () => {
  test("the backend creates a JointMultiEdgeService; its pods become Running and ready", async () => {
    const applied = await py("apply", JSON.stringify(processor("dayu", "edge1")));
    expect(applied).toEqual({ ok: true, result: "processor-car-detection-edge1" });
    await waitUntil(
      "check_pods_running(dayu)",
      async () => (await py("running", "dayu")).result === true,
      45_000,
    );
    const pods = (await py("pods", "dayu")).result as Any[];
    expect(pods).toHaveLength(2);
    for (const p of pods)
      expect(p).toMatchObject({ phase: "Running", ready: true, service: "car-detection" });
  }, 60_000);

  test("the edge nodes and their InternalIPs; the cloud by its role", async () => {
    const nodes = (await py("nodes")).result;
    expect(nodes.cloud).toMatchObject({ role: "cloud", ip: c.cloud.address });
    for (const edge of c.edges) expect(nodes[edge.name]).toMatchObject({ role: "edge", ip: edge.address });
  });

  test("per-node processor names map to their NodePorts, as PortInfo does", async () => {
    const ports = (await py("ports", "dayu")).result;
    const port = ports["processor-car-detection-edge1-both"];
    expect(port).toBeGreaterThanOrEqual(30000);
    expect((await py("service-ports", "dayu", "edge1")).result).toEqual({ "car-detection": port });
    // The port is the mesh port: edge1's address reaches edge1's processor.
    const env = (await (await fetch(`http://${c.edges[0]?.address}:${port}/env`)).json()) as Record<
      string,
      string
    >;
    expect(env.NODE_NAME).toBe("edge1");
  });

  test("the API's own endpoint is what Dayu injects as KUBERNETES_SERVICE_HOST/PORT", async () => {
    expect((await py("endpoint")).result).toEqual({ ip: c.cloud.address, port: 6443 });
  });

  test("a failed processor's pod deleted: its worker restarts", async () => {
    const pods = (await py("pods", "dayu", "", "spec.nodeName=edge1")).result as Any[];
    expect(pods).toHaveLength(1);
    const before = await workerSince("processor-car-detection-edge1.dayu", "edge1");
    expect(await py("delete-pod", "dayu", pods[0].name)).toEqual({ ok: true, result: true });
    await waitUntil(
      "the processor on edge1 restarted",
      async () => (await workerSince("processor-car-detection-edge1.dayu", "edge1")) !== before,
      20_000,
    );
    await waitUntil(
      "check_pods_running(dayu) again",
      async () => (await py("running", "dayu")).result === true,
      30_000,
    );
  }, 60_000);

  test("a watch of the namespace's pods (the Python client's Watch().stream)", async () => {
    const watching = py("watch", "dayu", "20", "3");
    await Bun.sleep(1500);
    await restartProcessor("cloud");
    const events = (await watching).result as { type: string; name: string }[];
    expect(events.slice(0, 2).map((e) => e.type)).toEqual(["ADDED", "ADDED"]);
    expect(events[2]?.type).toBe("MODIFIED");
    expect(events[2]?.name).toMatch(/-cloudworker-/);
  }, 40_000);

  test("errors are Kubernetes Status answers", async () => {
    expect(await py("delete-pod", "dayu", "nope")).toMatchObject({
      ok: false,
      status: 404,
      reason: "NotFound",
    });
    expect(await py("apply", JSON.stringify(processor("dayu", "edge1")))).toMatchObject({
      ok: false,
      status: 409,
      reason: "AlreadyExists",
    });
  });

  test("two deployments in namespaces dayu and dayu2 run side by side; deleting one leaves the other", async () => {
    expect((await py("apply", JSON.stringify(processor("dayu2", "edge1")))).ok).toBe(true);
    await waitUntil("dayu2 running", async () => (await py("running", "dayu2")).result === true, 45_000);
    expect((await py("pods", "dayu2")).result).toHaveLength(2);
    expect((await py("delete-namespace", "dayu2")).ok).toBe(true);
    await waitUntil("dayu2 gone", async () => !(await py("namespaces")).result.includes("dayu2"), 15_000);
    expect((await py("pods", "dayu2")).result).toEqual([]);
    expect((await py("running", "dayu")).result).toBe(true);
    expect((await py("pods", "dayu")).result).toHaveLength(2);
  }, 90_000);
});

describe.skipIf(!KUBECTL)("kubectl with levee ctl kubeconfig", () => {
  test("get nodes,pods,svc -n dayu -o wide", async () => {
    const r = await kubectl("get", "nodes,pods,svc", "-n", "dayu", "-o", "wide");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/node\/edge1\s+Ready\s+agent,edge/);
    expect(r.stdout).toMatch(/pod\/processor-car-detection-edge1-edgeworker-\S+\s+1\/1\s+Running\s+\d+/);
    expect(r.stdout).toMatch(
      /service\/processor-car-detection-edge1-both\s+NodePort\s+\S+\s+\S+\s+9000:3\d{4}\/TCP/,
    );
  });

  test("get jmes, describe pod", async () => {
    const jmes = await kubectl("get", "jmes", "-n", "dayu");
    expect(jmes.code, jmes.stderr).toBe(0);
    expect(jmes.stdout).toMatch(/processor-car-detection-edge1/);
    const pods = await kubectl("get", "pods", "-n", "dayu", "-o", "name");
    const first = pods.stdout.trim().split("\n")[0] as string;
    const described = await kubectl("describe", "-n", "dayu", first);
    expect(described.code, described.stderr).toBe(0);
    expect(described.stdout).toMatch(/Node:\s+(edge1|cloud)/);
    expect(described.stdout).toMatch(/Status:\s+Running/);
  });

  test("apply -f and delete -f of a Sedna manifest", async () => {
    const file = join(makeTempDir(), "jmes.json");
    writeFileSync(file, JSON.stringify(processor("dayu", "edge2")));
    const applied = await kubectl("apply", "-f", file);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(/processor-car-detection-edge2 created/);
    const again = await kubectl("apply", "-f", file);
    expect(again.code, again.stderr).toBe(0);
    const deleted = await kubectl("delete", "-f", file);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toMatch(/processor-car-detection-edge2.*deleted/);
  }, 30_000);

  test("dayu.sh's own steps: namespace, service account, cluster role binding, apply, NodePort, wait, stop", async () => {
    const ok = async (...args: string[]) => {
      const r = await kubectl(...args);
      expect(r.code, `kubectl ${args.join(" ")}: ${r.stderr}`).toBe(0);
      return r.stdout;
    };
    await ok("get", "pod");
    const cloud = await ok(
      "get",
      "nodes",
      "--selector=node-role.kubernetes.io/master=",
      "--no-headers",
      "-o",
      "custom-columns=NAME:.metadata.name,INTERNAL_IP:.status.addresses[?(@.type=='InternalIP')].address",
    );
    expect(cloud.trim().split(/\s+/)).toEqual(["cloud", c.cloud.address]);
    expect(
      await ok(
        "get",
        "ep",
        "kubernetes",
        "--namespace",
        "default",
        "-o",
        "jsonpath={.subsets[0].addresses[0].ip}",
      ),
    ).toBe(c.cloud.address);
    expect((await kubectl("get", "namespace", "dayu3")).code).not.toBe(0);
    await ok("create", "namespace", "dayu3");
    await ok("-n", "dayu3", "create", "serviceaccount", "worker-admin");
    expect((await kubectl("get", "clusterrolebinding", "worker-admin-binding")).code).not.toBe(0);
    await ok(
      "create",
      "clusterrolebinding",
      "worker-admin-binding",
      "--clusterrole=cluster-admin",
      "--serviceaccount=dayu3:worker-admin",
    );
    await ok(
      "patch",
      "clusterrolebinding",
      "worker-admin-binding",
      "--type=json",
      '-p=[{"op": "add", "path": "/subjects/-", "value": {"kind": "ServiceAccount", "name": "worker-admin", "namespace": "dayu4"}}]',
    );
    const binding = JSON.parse(await ok("get", "clusterrolebinding", "worker-admin-binding", "-o", "json"));
    expect(binding.subjects.map((s: Any) => s.namespace)).toEqual(["dayu3", "dayu4"]);
    const file = join(makeTempDir(), "redis.json");
    writeFileSync(file, JSON.stringify(processor("dayu3", "edge2")));
    await ok("-n", "dayu3", "apply", "-f", file);
    const port = await ok(
      "get",
      "svc",
      "processor-car-detection-edge2-both",
      "-n",
      "dayu3",
      "-o=jsonpath={.spec.ports[0].nodePort}",
    );
    expect(Number(port)).toBeGreaterThanOrEqual(30000);
    await waitUntil(
      "every pod of dayu3 Running (dayu.sh's wait)",
      async () => {
        const rows = (await ok("get", "pods", "-n", "dayu3", "--no-headers")).trim().split("\n");
        return rows.length === 2 && rows.every((r) => r.includes("Running"));
      },
      45_000,
    );
    await ok("delete", "JointMultiEdgeService", "-n", "dayu3", "--all", "--ignore-not-found=true");
    await ok("delete", "sa", "-n", "dayu3", "--all", "--ignore-not-found=true");
    await ok("delete", "role,rolebinding", "-n", "dayu3", "--all", "--ignore-not-found=true");
    await ok("delete", "namespace", "dayu3", "--ignore-not-found=true", "--wait=true", "--timeout=60s");
    expect((await kubectl("get", "namespace", "dayu3")).code).not.toBe(0);
    await ok("delete", "clusterrolebinding", "worker-admin-binding");
  }, 90_000);

  test("get -w prints a pod's change", async () => {
    const proc = Bun.spawn(
      [
        KUBECTL as string,
        "--kubeconfig",
        kubeconfig,
        "get",
        "pods",
        "-n",
        "dayu",
        "-w",
        "--request-timeout=20s",
      ],
      { stdout: "pipe", stderr: "pipe" },
    );
    const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
    let seen = "";
    const read = async (pattern: RegExp) => {
      while (!pattern.test(seen)) {
        const { value, done } = await reader.read();
        if (done) break;
        seen += new TextDecoder().decode(value);
      }
    };
    await read(/edgeworker/);
    const lines = seen.split("\n").length;
    await restartProcessor("edge1");
    await Promise.race([read(/edgeworker[^\n]*\n[\s\S]*edgeworker/), Bun.sleep(15_000)]);
    proc.kill();
    expect(seen.split("\n").length).toBeGreaterThan(lines);
  }, 30_000);
});

/** `levee ctl restart` of the dayu processor's worker on `node` (its pod changes). */
async function restartProcessor(node: string): Promise<void> {
  const server = ["--server", c.cloud.apiUrl, "--token", c.cloud.adminToken];
  const res = await runLevee([
    "ctl",
    "restart",
    "processor-car-detection-edge1",
    "-n",
    "dayu",
    "--node",
    node,
    ...server,
  ]);
  expect(res.code, res.stderr).toBe(0);
}

async function workerSince(service: string, node: string): Promise<string | null> {
  const res = await c.cloud.api(`/api/v1/workers?service=${service}&node=${node}`);
  const items = ((await res.json()) as { items: { since: string | null; phase: string }[] }).items;
  return items[0] ? `${items[0].since}` : null;
}
