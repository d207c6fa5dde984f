// What a worker with kubeApi gets, end to end on real agents (a cloud and an edge): an exec worker
// of a Service in namespace dayu prints its token file and its API address to its log; the token
// identifies that worker instance in the edge's own database (as the edge's Kubernetes API will
// look it up); after the worker restarts, the old token identifies nothing and the new one the new
// instance. As root (the harness's usual case) the token is read at the standard path in the
// worker's own mount namespace; otherwise from LEVEE_SERVICEACCOUNT_DIR.
import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { identifyWorkerToken } from "../../src/node/kube-access/worker-tokens.ts";
import { mountNamespaceProblem } from "../../src/node/workers/drivers/mount-namespace.ts";
import { applyManifest, type Cluster, waitUntil, withCluster } from "../harness/cluster.ts";

const SA = "/var/run/secrets/kubernetes.io/serviceaccount";
const SCRIPT = [
  `f=${SA}/token; [ -s "$f" ] || f="$LEVEE_SERVICEACCOUNT_DIR/token"`,
  `echo "from=$f"`,
  `echo "api=$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT"`,
  `printf 'token=%s\\n' "$(cat "$f")"`,
  "exec sleep 600",
].join("; ");

const service = JSON.stringify({
  apiVersion: "levee/v1",
  kind: "Service",
  metadata: { name: "reader", namespace: "dayu" },
  spec: {
    template: {
      command: ["sh", "-c", SCRIPT],
      kubeApi: { serviceAccount: "worker-admin" },
      restart: { backoff: { initial: "200ms", max: "1s" } },
    },
    workers: [{ node: "edge1" }],
  },
});

interface AgentWorker {
  pid: number | null;
  ready: boolean;
  restarts: number;
}

async function worker(edge: Cluster["edges"][0]): Promise<AgentWorker | undefined> {
  const res = await fetch(`${edge.agentUrl}/v1/workers?service=reader.dayu`);
  if (!res.ok) return undefined;
  return ((await res.json()) as { items: AgentWorker[] }).items[0];
}

/** The tokens the worker printed so far, in order. */
function printedTokens(logFile: string): string[] {
  // A restarted worker's run before is in previous.log (levee ctl logs --previous).
  const files = [join(dirname(logFile), "previous.log"), logFile].filter((f) => existsSync(f));
  const text = files.map((f) => readFileSync(f, "utf8")).join("");
  return [...text.matchAll(/^token=(\S+)$/gm)].map((m) => m[1] as string);
}

test("a worker's token identifies it while it runs, and no longer once it restarted", async () => {
  await withCluster({ edges: 1 }, async (c) => {
    const edge = c.edges[0] as Cluster["edges"][0];
    await applyManifest(c, service, "application/json");
    const logFile = join(edge.dataDir, "workers", "reader.dayu", "0", "logs", "current.log");
    await waitUntil("the worker printed its token", async () => printedTokens(logFile).length === 1, 20_000);
    const log = readFileSync(logFile, "utf8");
    expect(log).toContain(`api=${edge.address}:6443\n`);
    if (mountNamespaceProblem() === undefined) expect(log).toContain(`from=${SA}/token\n`);
    else
      expect(log).toContain(
        `from=${join(edge.dataDir, "workers", "reader.dayu", "0", "serviceaccount")}/token`,
      );

    const db = new Database(join(edge.dataDir, "levee.db"), { readonly: true });
    try {
      const [first] = printedTokens(logFile) as [string];
      const identity = identifyWorkerToken(db, first);
      expect(identity).toMatchObject({
        service: "reader.dayu",
        index: 0,
        namespace: "dayu",
        serviceAccount: "worker-admin",
        node: "edge1",
      });
      // The token is nowhere in the agents' logs.
      for (const agent of c.all()) expect(agent.logs.join("\n")).not.toContain(first);

      // The worker dies; the agent restarts it with a new instance and a new token.
      const before = await worker(edge);
      process.kill(before?.pid as number, "SIGKILL");
      await waitUntil(
        "the restarted worker printed its token",
        async () => printedTokens(logFile).length === 2,
        20_000,
      );
      const second = printedTokens(logFile)[1] as string;
      expect(second).not.toBe(first);
      await waitUntil("the restart is recorded", async () => ((await worker(edge))?.restarts ?? 0) >= 1);
      expect(identifyWorkerToken(db, first)).toBeUndefined();
      const next = identifyWorkerToken(db, second);
      expect(next?.service).toBe("reader.dayu");
      expect(next?.instance).not.toBe(identity?.instance);
    } finally {
      db.close();
    }
  });
}, 60_000);
