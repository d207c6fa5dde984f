// `levee ctl exec` in a container worker: `docker exec` through the Engine API with its streams
// attached (a real dockerd from test/harness/docker.ts, busybox), through a real cloud and edge.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { applyManifest, type Cluster, startCluster, waitUntil } from "../harness/cluster.ts";
import { dockerSkipReason, ensureDocker, removeLeveeContainers, type TestDocker } from "../harness/docker.ts";
import { execCtl } from "../harness/exec-ctl.ts";

const skip = await dockerSkipReason();
if (skip) process.stderr.write(`skipping exec in container workers: ${skip}\n`);

describe.skipIf(skip !== undefined)("levee ctl exec in a container worker", () => {
  let docker: TestDocker;
  let c: Cluster;
  beforeAll(async () => {
    docker = await ensureDocker();
    c = await startCluster({ edges: 1, edgeArgs: ["--docker-socket", docker.socket] });
    await applyManifest(
      c,
      JSON.stringify({
        apiVersion: "levee/v1",
        kind: "Service",
        metadata: { name: "box" },
        spec: {
          template: {
            driver: "container",
            image: docker.image,
            command: ["sleep", "3600"],
            env: { GREETING: "hello from the container" },
            stopTimeout: "1s",
          },
          workers: [{ node: "edge1", replicas: 1 }],
        },
      }),
    );
    await waitUntil(
      "the container worker running",
      async () => {
        const res = await c.cloud.api("/api/v1/workers");
        const { items } = (await res.json()) as { items: { ready: boolean }[] };
        return items.length === 1 && items.every((w) => w.ready);
      },
      30_000,
    );
  }, 120_000);
  afterAll(async () => {
    const root = c?.edges[0]?.dataDir;
    await c?.destroy();
    if (docker && root) await removeLeveeContainers(docker.client, (agent) => agent.startsWith(root));
  });

  const on = ["box", "--node", "edge1"];

  test("stdout, stderr, the exit code, stdin and the container's environment", async () => {
    const r = await execCtl(c, [...on, "--", "sh", "-c", "echo out; echo err >&2; exit 3"]);
    expect(r).toEqual({ code: 3, stdout: "out\n", stderr: "err\n" });
    const input = `${"a line of input\n".repeat(5000)}the end\n`;
    const piped = await execCtl(c, [...on, "-i", "--", "cat"], input);
    expect(piped.code).toBe(0);
    expect(piped.stdout).toBe(input);
    const env = await execCtl(c, [...on, "--", "sh", "-c", 'echo "$GREETING"']);
    expect(env.stdout).toBe("hello from the container\n");
  }, 60_000);

  test("with -t: a terminal, stdout and stderr merged", async () => {
    const r = await execCtl(c, [
      ...on,
      "-t",
      "--",
      "sh",
      "-c",
      "test -t 1 && echo terminal; echo err >&2; exit 5",
    ]);
    expect(r.code).toBe(5);
    expect(r.stdout.replaceAll("\r", "")).toBe("terminal\nerr\n");
  }, 60_000);
});
