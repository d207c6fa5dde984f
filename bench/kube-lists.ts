// The list measurements of bench/kube-api.ts: a listener (an agent's Kubernetes API, the caller's
// token, the CA to trust, the agent's pid for its CPU time), sequential GETs of a namespace's pods
// over one kept-alive HTTPS connection (Bun fetch), and the same call through the official Python
// client (Debian python3-kubernetes, /usr/bin/python3) timed inside Python; plus /proc readings.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

// biome-ignore lint/suspicious/noExplicitAny: Kubernetes JSON, read by path
type Any = any;

/** utime + stime of a process, ms (clock ticks of 10 ms). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) / 1024;
}

export interface Listener {
  name: string;
  base: string;
  token: string;
  ca: string;
  pid: number;
}

/** A GET with the listener's token, trusting its CA; Bun keeps the connection alive between calls. */
export const kubeGet = (l: Listener, path: string) =>
  fetch(`${l.base}${path}`, {
    headers: { authorization: `Bearer ${l.token}`, accept: "application/json" },
    tls: { ca: l.ca },
  } as RequestInit);

export async function listPods(l: Listener, namespace: string): Promise<{ items: Any[]; rv: string }> {
  const res = await kubeGet(l, `/api/v1/namespaces/${namespace}/pods`);
  if (!res.ok) throw new Error(`${l.name}: list pods ${res.status} ${await res.text()}`);
  const body = (await res.json()) as Any;
  return { items: body.items, rv: body.metadata.resourceVersion };
}

export interface ListResult {
  listener: string;
  query: string;
  items: number;
  bytes: number;
  times: number[];
  cpuPerRequest: number;
}

/** `requests` sequential GETs of the namespace's pods (after 20 of warm-up), and the agent's CPU for them. */
export async function listLatency(
  l: Listener,
  namespace: string,
  query: string,
  requests: number,
): Promise<ListResult> {
  const path = `/api/v1/namespaces/${namespace}/pods${query}`;
  let bytes = 0;
  let items = 0;
  for (let i = 0; i < 20; i++) await (await kubeGet(l, path)).arrayBuffer();
  const times: number[] = [];
  const cpu0 = cpuMs(l.pid);
  for (let i = 0; i < requests; i++) {
    const t0 = performance.now();
    const res = await kubeGet(l, path);
    const body = await res.arrayBuffer();
    times.push(performance.now() - t0);
    if (!res.ok) throw new Error(`${l.name} ${path}: ${res.status}`);
    bytes = body.byteLength;
    if (i === 0) items = (JSON.parse(new TextDecoder().decode(body)) as Any).items.length;
  }
  const cpuPerRequest = (cpuMs(l.pid) - cpu0) / requests;
  return { listener: l.name, query: query || "(none)", items, bytes, times, cpuPerRequest };
}

const PY_SCRIPT = `
import json, sys, time
from kubernetes import client
host, token, ca, ns, n = sys.argv[1:6]
n = int(n)
cfg = client.Configuration()
cfg.host = host
cfg.api_key = {"authorization": "Bearer " + token}
cfg.ssl_ca_cert = ca
api = client.CoreV1Api(client.ApiClient(cfg))
def run(preload):
    out = []
    for i in range(n + 5):
        t = time.perf_counter()
        r = api.list_namespaced_pod(ns, _preload_content=preload)
        if not preload:
            r.data
        if i >= 5:
            out.append((time.perf_counter() - t) * 1000)
    return out
full = run(True)
raw = run(False)
print(json.dumps({"full": full, "raw": raw, "count": len(api.list_namespaced_pod(ns).items)}))
`;

/** list_namespaced_pod through the Python client: `requests` calls (after 5), with and without its models. */
export async function pythonLatency(
  l: Listener,
  namespace: string,
  requests: number,
  dir: string,
): Promise<{ full: number[]; raw: number[]; count: number }> {
  const caFile = join(dir, `${l.name}-ca.crt`);
  writeFileSync(caFile, l.ca);
  const proc = Bun.spawn(
    ["/usr/bin/python3", "-c", PY_SCRIPT, l.base, l.token, caFile, namespace, String(requests)],
    {
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  if ((await proc.exited) !== 0) throw new Error(`python client: ${err}`);
  return JSON.parse(out);
}
