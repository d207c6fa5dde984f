// Resource limits and Secrets through the whole stack (a cloud and an edge agent):
// - a Secret mounted with mode 0400 and passed as secretEnv reaches the worker (which proves it by
//   printing sha256 sums, never the value), a changed value restarts it with the new one, and the
//   value appears in no output: ctl get/describe (table, yaml, json), events, logs, backup, the
//   API's answers, the node's /v1/plan and /v1/workers, and every agent's log;
// - an exec worker over its memory limit is OOMKilled and restarted by its policy (where cgroup v2
//   is writable; elsewhere the worker runs and its status says that the limits are not enforced);
// - a container over its memory limit is OOMKilled (where a dockerd is available).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash, randomUUID } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { Cgroups } from "../../src/node/workers/drivers/cgroup.ts";
import type { WorkerSnapshot } from "../../src/node/workers/supervisor.ts";
import {
  applyManifest,
  type Cluster,
  makeTempDir,
  runLevee,
  waitUntil,
  withCluster,
} from "../harness/cluster.ts";
import { dockerSkipReason, ensureDocker, removeLeveeContainers, type TestDocker } from "../harness/docker.ts";
import { agentWorkers } from "../harness/workers.ts";

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

function secret(password: string, certificate: string): string {
  return JSON.stringify({
    apiVersion: "levee/v1",
    kind: "Secret",
    metadata: { name: "db" },
    stringData: { password },
    data: { "tls.key": Buffer.from(certificate).toString("base64") },
  });
}

// Prints no value (nor a hash of it): whether the file and the variable agree, the length, the mode.
const READER = JSON.stringify({
  apiVersion: "levee/v1",
  kind: "Service",
  metadata: { name: "reader" },
  spec: {
    template: {
      command: [
        "sh",
        "-c",
        '[ "$(cat "$SECRETS/password")" = "$DB_PASSWORD" ] && printf "same %s\\n" "$(printf %s "$DB_PASSWORD" | wc -c)"; ' +
          'echo "mode $(stat -c %a "$SECRETS/password")"; exec sleep 600',
      ],
      secretEnv: { DB_PASSWORD: { secret: "db", key: "password" } },
      mounts: [{ secret: { name: "db" }, envName: "SECRETS" }],
      stopTimeout: "1s",
    },
    workers: [{ node: "edge1" }],
  },
});

describe("Secrets", () => {
  test("mounted 0400 and in the environment; a new value restarts the worker; never printed", async () => {
    const first = `first-${randomUUID()}`;
    const second = `second-${randomUUID()}`;
    const certificate = `key-${randomUUID()}`;
    await withCluster({ edges: 1 }, async (c) => {
      const edge = c.edges[0] as Cluster["edges"][0];
      const outputs: string[] = [];
      const ctl = async (...args: string[]) => {
        const r = await runLevee(["ctl", ...args, "--data-dir", c.cloud.dataDir]);
        outputs.push(`$ levee ctl ${args.join(" ")}\n${r.stdout}${r.stderr}`);
        return r;
      };
      const files = makeTempDir("levee-secret-");
      const manifest = join(files, "all.json");
      await Bun.write(manifest, `[${secret(first, certificate)}, ${READER}]`);
      expect((await ctl("apply", "-f", manifest)).code).toBe(0);

      // The reader's output across its runs: a restart moves the run before to previous.log.
      const logs = join(edge.dataDir, "workers", "reader", "0", "logs");
      const read = (name: string) => {
        try {
          return readFileSync(join(logs, name), "utf8");
        } catch {
          return "";
        }
      };
      const logText = () => read("previous.log") + read("current.log");
      await waitUntil("the reader's hashes in its log", () => logText().includes("mode "), 30_000);
      expect(logText()).toBe(`same ${first.length}\nmode 400\n`);
      const file = join(edge.dataDir, "workers", "reader", "0", "mounts", "0", "password");
      expect(statSync(file).mode & 0o777).toBe(0o400);
      expect(readFileSync(file, "utf8")).toBe(first);
      expect(
        readFileSync(join(edge.dataDir, "workers", "reader", "0", "mounts", "0", "tls.key"), "utf8"),
      ).toBe(certificate);

      // A new value: the worker restarts with it (its spec hash covers the content's references).
      await Bun.write(manifest, `[${secret(second, certificate)}, ${READER}]`);
      expect((await ctl("apply", "-f", manifest)).code).toBe(0);
      await waitUntil(
        "the reader restarted with the new value",
        () => logText().endsWith(`same ${second.length}\nmode 400\n`),
        30_000,
      );
      expect(readFileSync(file, "utf8")).toBe(second);
      expect(logText()).toBe(`same ${first.length}\nmode 400\nsame ${second.length}\nmode 400\n`);

      // Everything an operator or a program can read, each kept for the check below.
      const table = await ctl("get", "secrets");
      expect(table.stdout).toMatch(/^db\s+default\s+2\s+2\s+/m);
      const yaml = await ctl("get", "secret", "db", "-o", "yaml");
      expect(yaml.stdout).toContain(`password: "(redacted: ${second.length} bytes)"`);
      expect(yaml.stdout).toContain(`tls.key: "(redacted: ${certificate.length} bytes)"`);
      await ctl("get", "secrets", "-o", "json");
      await ctl("describe", "secret", "db");
      await ctl("describe", "service", "reader");
      await ctl("get", "services", "-o", "yaml");
      await ctl("get", "workers", "-o", "json");
      await ctl("logs", "reader", "--node", "edge1");
      await ctl("backup", join(files, "backup.tar"));
      for (const path of [
        "/api/v1/secrets",
        "/api/v1/secrets/db",
        "/api/v1/services/reader",
        "/api/v1/workers",
      ]) {
        const res = await c.cloud.api(path);
        expect(res.status).toBe(200);
        outputs.push(`GET ${path}\n${await res.text()}`);
      }
      // The admin cannot fetch a Secret's value as config content, even knowing its hash.
      const content = await c.cloud.api(`/api/v1/config-content/${sha256(second)}`);
      expect(content.status).toBe(404); // (its answer repeats the hash the test sent: not kept)
      for (const path of ["/v1/plan", "/v1/workers"]) {
        outputs.push(`GET edge ${path}\n${await (await fetch(`${edge.agentUrl}${path}`)).text()}`);
      }
      const events = await c.cloud.api("/api/v1/events", { signal: AbortSignal.timeout(1500) });
      outputs.push(await events.text().catch(() => ""));

      const everything = [...outputs, ...c.cloud.logs, ...edge.logs].join("\n");
      expect(everything).toContain("(redacted: ");
      for (const value of [first, second, certificate]) {
        // Nor its hash: a short value could be guessed from it.
        for (const form of [value, Buffer.from(value).toString("base64"), sha256(value)]) {
          const at = everything.indexOf(form);
          if (at >= 0)
            throw new Error(
              `a Secret's value was printed: …${everything.slice(Math.max(0, at - 300), at + 100)}…`,
            );
        }
      }
    });
  }, 90_000);
});

const cgroupProblem = (() => {
  const state = new Cgroups().availability();
  return state.ok ? undefined : state.problem;
})();
if (cgroupProblem) process.stderr.write(`exec workers' memory limit not enforced here: ${cgroupProblem}\n`);

const HOG = (driver: "exec" | "container", image?: string) =>
  JSON.stringify({
    apiVersion: "levee/v1",
    kind: "Service",
    metadata: { name: "hog" },
    spec: {
      template: {
        driver,
        ...(image ? { image } : {}),
        // dd fills a 300 MB buffer: far over the limit.
        command: ["dd", "if=/dev/zero", "of=/dev/null", "bs=300000000", "count=1"],
        resources: { memory: "64Mi", cpu: "500m" },
        restart: { policy: "always", backoff: { initial: "1s", max: "2s" } },
        stopTimeout: "1s",
      },
      workers: [{ node: "edge1" }],
    },
  });

/** Until the hog's worker has been OOMKilled and restarted by its policy (its status says so). */
async function untilOomKilled(c: Cluster, what: string): Promise<void> {
  let seen: WorkerSnapshot[] = [];
  await waitUntil(
    `${what} OOMKilled and restarted`,
    async () => {
      seen = await agentWorkers(c.edges[0]?.agentUrl as string, "hog");
      return seen.some((w) => w.restarts >= 1 && w.message.includes("OOMKilled"));
    },
    60_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}: ${JSON.stringify(seen)}`);
  });
}

describe("memory limits of exec workers", () => {
  test.skipIf(cgroupProblem !== undefined)(
    "over its limit a worker is OOMKilled and restarted",
    async () => {
      await withCluster({ edges: 1 }, async (c) => {
        await applyManifest(c, HOG("exec"));
        await untilOomKilled(c, "the worker");
        // The cloud's view says it too (the reason travels in the worker's status message).
        await waitUntil("the cloud's workers view says OOMKilled", async () =>
          (await (await c.cloud.api("/api/v1/workers?service=hog")).text()).includes("OOMKilled"),
        );
      });
    },
    90_000,
  );

  test.skipIf(cgroupProblem === undefined)(
    "where cgroups cannot be used the worker runs and says so",
    async () => {
      await withCluster({ edges: 1 }, async (c) => {
        await applyManifest(
          c,
          JSON.stringify({
            apiVersion: "levee/v1",
            kind: "Service",
            metadata: { name: "limited" },
            spec: {
              template: { command: ["sleep", "600"], resources: { memory: "64Mi" }, stopTimeout: "1s" },
              workers: [{ node: "edge1", replicas: 2 }],
            },
          }),
        );
        await waitUntil("two ready workers that say their limits are not enforced", async () => {
          const workers = await agentWorkers(c.edges[0]?.agentUrl as string, "limited");
          return (
            workers.length === 2 &&
            workers.every((w) => w.ready && w.message.includes("resource limits not enforced"))
          );
        });
        const edge = c.edges[0] as Cluster["edges"][0];
        const warnings = edge.logs.filter((l) =>
          l.includes("resource limits of exec workers are not enforced"),
        );
        expect(warnings).toHaveLength(1);
      });
    },
    60_000,
  );
});

const dockerSkip = await dockerSkipReason();
if (dockerSkip) process.stderr.write(`skipping the container memory limit: ${dockerSkip}\n`);

describe.skipIf(dockerSkip !== undefined)("memory limits of containers", () => {
  let docker: TestDocker;
  const roots: string[] = [];
  beforeAll(async () => {
    docker = await ensureDocker();
  }, 120_000);
  afterAll(async () => {
    await removeLeveeContainers(docker.client, (agent) => roots.some((r) => agent.startsWith(r)));
  });

  test("a container over its limit is OOMKilled and restarted", async () => {
    await withCluster({ edges: 1, edgeArgs: ["--docker-socket", docker.socket] }, async (c) => {
      roots.push(c.edges[0]?.dataDir as string);
      await applyManifest(c, HOG("container", docker.image));
      await untilOomKilled(c, "the container");
    });
  }, 120_000);
});
