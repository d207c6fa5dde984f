// An exec worker with kubeApi, started by the real prestart steps and the real exec driver as root:
// it reads its token at /var/run/secrets/kubernetes.io/serviceaccount/token (its own mount
// namespace; the host does not see it there) and that token identifies it; the process the driver
// supervises is the worker itself (its pid, group, marker and start time), so adoption and a
// graceful stop work as without the namespace; its environment passes byte-exact (no shell in
// between); a worker with a user reads its files as that user. Skipped, saying why, where the agent
// could not make the namespace (not root, no util-linux, no CAP_SYS_ADMIN).
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { join } from "node:path";
import { templateSchema } from "../../../../src/manifest/template.ts";
import { SERVICE_ACCOUNT_PATH } from "../../../../src/node/kube-access/service-account-files.ts";
import { identifyWorkerToken } from "../../../../src/node/kube-access/worker-tokens.ts";
import type { Instance } from "../../../../src/node/workers/drivers/driver.ts";
import { ExecDriver, instancePrefix } from "../../../../src/node/workers/drivers/exec-driver.ts";
import { mountNamespaceProblem } from "../../../../src/node/workers/drivers/mount-namespace.ts";
import {
  processEnvVar,
  processGroupMembers,
  processStartTime,
} from "../../../../src/node/workers/drivers/proc.ts";
import type { Store } from "../../../../src/store/store.ts";
import { makeTempDir } from "../../../harness/cluster.ts";
import { kubePrestart } from "./kube-prestart.ts";

const problem = mountNamespaceProblem();
if (problem) console.warn(`skipping the exec mount namespace tests: ${problem}`);

const running: Instance[] = [];
let store: Store | undefined;
afterEach(async () => {
  for (const instance of running.splice(0)) await instance.stop(1000);
  store?.close();
});
afterAll(() => store?.close());

/** Prestart (worker dir, kube-api, env) and the driver's start, as the controller runs them. */
async function startWorker(
  service: string,
  fields: Record<string, unknown>,
  extraEnv: Record<string, string> = {},
) {
  const dataDir = join(makeTempDir(), "data");
  const instance = `${instancePrefix(dataDir)}${crypto.randomUUID()}`;
  const template = templateSchema.parse({ kubeApi: {}, ...fields });
  const prepared = await kubePrestart(dataDir, service, template, instance);
  store = prepared.store;
  const { launch, workerDir } = prepared;
  expect(launch.serviceAccountDir).toBe(join(workerDir, "serviceaccount"));
  const logFile = join(workerDir, "logs", "current.log");
  const started = await new ExecDriver().start({
    key: { node: "edge1", service, index: 0, instance },
    template,
    env: { ...launch.env, ...extraEnv },
    workerDir,
    logFile,
    mounts: launch.mounts,
    serviceAccountDir: launch.serviceAccountDir,
    agentId: dataDir,
  });
  running.push(started);
  return { db: prepared.store.db, started, logFile, instance, workerDir };
}

async function logOnceContains(logFile: string, text: string): Promise<string> {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const log = existsSync(logFile) ? readFileSync(logFile, "utf8") : "";
    if (log.includes(text)) return log;
    await Bun.sleep(20);
  }
  throw new Error(`the worker's log never said ${JSON.stringify(text)}: ${readFileSync(logFile, "utf8")}`);
}

const SA = SERVICE_ACCOUNT_PATH;

describe.skipIf(problem !== undefined)("an exec worker in its own mount namespace", () => {
  test("reads its token at the standard path; the token identifies it; the pid is the worker's", async () => {
    const script = `echo "pid $$"; printf 'token=%s\\n' "$(cat ${SA}/token)"; echo "ns=$(cat ${SA}/namespace)"; head -c 27 ${SA}/ca.crt; echo; echo started; exec sleep 30`;
    const { db, started, logFile, instance } = await startWorker("processor.dayu", {
      command: ["sh", "-c", script],
      kubeApi: { serviceAccount: "worker-admin" },
    });
    const log = await logOnceContains(logFile, "started");
    const pid = started.ref.pid as number;
    expect(log).toContain(`pid ${pid}\n`);
    expect(log).toContain("ns=dayu\n");
    expect(log).toContain("-----BEGIN CERTIFICATE-----");
    const token = /token=(\S+)/.exec(log)?.[1] ?? "";
    expect(token).toMatch(/^lvwk_/);
    expect(identifyWorkerToken(db, token)).toEqual({
      service: "processor.dayu",
      index: 0,
      instance,
      namespace: "dayu",
      serviceAccount: "worker-admin",
      node: "edge1",
    });
    // Its own namespace: the host's directory stays an empty mount point.
    expect(readlinkSync(`/proc/${pid}/ns/mnt`)).not.toBe(readlinkSync("/proc/self/ns/mnt"));
    expect(statSync(SA).isDirectory()).toBe(true);
    expect(existsSync(join(SA, "token")) && readFileSync(join(SA, "token"), "utf8") === token).toBe(false);
    // What the driver supervises is the worker: group leader, marker, start time.
    expect(processGroupMembers(pid)).toContain(pid);
    expect(processEnvVar(pid, "LEVEE_WORKER_ID")).toBe(instance);
    expect(started.ref.pidStart).toBe(processStartTime(pid) as string);
  });

  test("adopted by a restarted agent, and stopped gracefully (SIGTERM to the worker itself)", async () => {
    const script = `trap 'echo got-term; exit 0' TERM; echo started; while :; do sleep 0.1; done`;
    const { started, logFile } = await startWorker("web", { command: ["sh", "-c", script] });
    await logOnceContains(logFile, "started");
    const adopted = await new ExecDriver().adopt(started.ref);
    expect(adopted?.ref.pid).toBe(started.ref.pid);
    const exit = await adopted?.stop(3000);
    expect(exit).toEqual({ exitCode: null, signal: null }); // not our child: status unknown
    await logOnceContains(logFile, "got-term");
    expect(processGroupMembers(started.ref.pid as number)).toEqual([]);
  });

  test("the environment passes byte-exact, names a shell would drop included", async () => {
    const tricky = "a b\n'c' \"d\" $(e)";
    const extra = { "DOTTED.NAME": "1", "DASHED-NAME": "2", TRICKY: tricky };
    const { started, logFile } = await startWorker("web", { command: ["env"] }, extra);
    expect(await started.exited).toEqual({ exitCode: 0, signal: null });
    const log = readFileSync(logFile, "utf8");
    expect(log).toContain("DOTTED.NAME=1\n");
    expect(log).toContain("DASHED-NAME=2\n");
    expect(log).toContain(`TRICKY=${tricky}\n`);
    expect(log).not.toContain("SHLVL=");
    expect(log).not.toContain("PWD=");
  });

  test("a worker with a user reads its files as that user, and cannot write them", async () => {
    const script = `id -u; cat ${SA}/token >/dev/null && echo readable; touch ${SA}/x 2>/dev/null || echo read-only; echo started`;
    const { logFile } = await startWorker("web", {
      command: ["sh", "-c", script],
      user: 65534,
      group: 65534,
      workingDir: "/", // the data dir is the agent's (0700): the worker's user cannot enter it
    });
    const log = await logOnceContains(logFile, "started");
    expect(log).toBe("65534\nreadable\nread-only\nstarted\n");
  });
});
