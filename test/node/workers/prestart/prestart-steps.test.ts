// The prestart steps one by one, with fake sources: what each contributes to the launch, what the
// worker's status says while one waits, how a failure names the mount, and the runner's order
// and abort.
import { describe, expect, test } from "bun:test";
import type { ConfigFileRef } from "../../../../src/manifest/plan.ts";
import { desiredWorker } from "../../../../src/node/workers/desired.ts";
import { WorkerSpecError } from "../../../../src/node/workers/drivers/driver.ts";
import { artifactsStep } from "../../../../src/node/workers/prestart/artifacts-step.ts";
import {
  type ConfigContentSource,
  configContentStep,
} from "../../../../src/node/workers/prestart/config-content-step.ts";
import { envStep } from "../../../../src/node/workers/prestart/env-step.ts";
import { portStep } from "../../../../src/node/workers/prestart/port-step.ts";
import {
  type Launch,
  type PrestartRequest,
  type PrestartStep,
  runPrestart,
} from "../../../../src/node/workers/prestart/prestart-step.ts";
import { template } from "../lifecycle-helpers.ts";

const sha = (c: string) => c.repeat(64);
const empty: Launch = { mounts: [], mountEnv: {}, port: undefined, env: {} };

function request(fields: Record<string, unknown>, configs = {}, extra: Partial<PrestartRequest> = {}) {
  const waited: string[] = [];
  const req: PrestartRequest = {
    desired: desiredWorker("web", 0, 1, template(fields), configs),
    instance: "i-1",
    workerDir: "/data/workers/web/0",
    heldPort: undefined,
    signal: new AbortController().signal,
    waiting: (message) => waited.push(message),
    launch: empty,
    ...extra,
  };
  return { req, waited };
}

describe("runPrestart", () => {
  test("runs the steps in order; each sees what the ones before contributed", async () => {
    const seen: string[] = [];
    const step = (name: string, part: Partial<Launch>): PrestartStep => ({
      name,
      async prestart({ launch }) {
        seen.push(`${name}: port ${launch.port}`);
        return part;
      },
    });
    const { req } = request({});
    const launch = await runPrestart([step("a", { port: 7 }), step("b", { env: { X: "1" } })], req);
    expect(seen).toEqual(["a: port undefined", "b: port 7"]);
    expect(launch).toEqual({ mounts: [], mountEnv: {}, port: 7, env: { X: "1" } });
  });

  test("an abort stops it between steps and returns nothing", async () => {
    const abort = new AbortController();
    const ran: string[] = [];
    const steps: PrestartStep[] = [
      {
        name: "first",
        async prestart() {
          ran.push("first");
          abort.abort();
          return {};
        },
      },
      {
        name: "second",
        async prestart() {
          ran.push("second");
          return {};
        },
      },
    ];
    const { req } = request({}, {}, { signal: abort.signal });
    expect(await runPrestart(steps, req)).toBeUndefined();
    expect(ran).toEqual(["first"]);
  });
});

describe("configContentStep", () => {
  const refs = { "a.txt": { sha256: sha("a"), size: 1 }, "b.txt": { sha256: sha("b"), size: 1 } };
  const mounts = [{ config: { name: "app" }, envName: "APP" }];

  function source(held: Set<string>, fail?: string): ConfigContentSource & { reads: string[] } {
    const reads: string[] = [];
    return {
      reads,
      missing: (list: readonly ConfigFileRef[]) => list.filter((r) => !held.has(r.sha256)),
      async read(ref) {
        reads.push(ref.sha256);
        if (fail) throw new Error(fail);
        held.add(ref.sha256);
        return new Uint8Array();
      },
    };
  }

  test("content not on the node yet: the status says which Config, the missing files are fetched", async () => {
    const src = source(new Set([sha("a")]));
    const { req, waited } = request({ mounts }, { app: refs });
    expect(await configContentStep(src).prestart(req)).toEqual({});
    expect(waited).toEqual([
      "waiting for the content of Config app from the cloud (verified by sha256 before the worker starts)",
    ]);
    expect(src.reads).toEqual([sha("b")]);
  });

  test("everything held: no waiting, nothing read", async () => {
    const src = source(new Set([sha("a"), sha("b")]));
    const { req, waited } = request({ mounts }, { app: refs });
    await configContentStep(src).prestart(req);
    expect(waited).toEqual([]);
    expect(src.reads).toEqual([]);
  });

  test("a failed fetch is a spec error naming the mount and the file", async () => {
    const { req } = request({ mounts: [{ shared: { name: "s" } }, ...mounts] }, { app: refs });
    const failing = configContentStep(source(new Set(), "content does not match its sha256"));
    const err = await failing.prestart(req).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkerSpecError);
    expect((err as Error).message).toBe("mounts[1].config app/a.txt: content does not match its sha256");
  });
});

describe("artifactsStep", () => {
  const mounts = [
    { shared: { name: "s" } },
    { artifact: { sha256: sha("c"), name: "model.bin" }, envName: "MODEL" },
  ];

  test("says it fetches, and gets every artifact into the cache", async () => {
    const ensured: string[] = [];
    const step = artifactsStep({
      async ensure(ref) {
        ensured.push(ref.sha256);
        return "/cache/blob";
      },
    });
    const { req, waited } = request({ mounts });
    expect(await step.prestart(req)).toEqual({});
    expect(waited).toEqual(["fetching artifacts"]);
    expect(ensured).toEqual([sha("c")]);
  });

  test("a failed download is a spec error naming the mount and the artifact", async () => {
    const step = artifactsStep({
      ensure: async () => {
        throw new Error("the cloud answered 404");
      },
    });
    const { req } = request({ mounts });
    await expect(step.prestart(req)).rejects.toThrow("mounts[1].artifact model.bin: the cloud answered 404");
  });

  test("a worker without artifacts neither waits nor fetches", async () => {
    const { req, waited } = request({});
    expect(await artifactsStep(undefined).prestart(req)).toEqual({});
    expect(waited).toEqual([]);
  });
});

describe("portStep and envStep", () => {
  const ports = () => {
    const asked: unknown[] = [];
    return {
      asked,
      allocate: async (worker: string, preferred?: { port: number; held: boolean }) => {
        asked.push([worker, preferred]);
        return 20_001;
      },
    };
  };

  test("a fixed port is the template's; no port is none", async () => {
    const registry = ports();
    expect(await portStep(registry).prestart(request({ port: 8080 }).req)).toEqual({ port: 8080 });
    expect(await portStep(registry).prestart(request({}).req)).toEqual({ port: undefined });
    expect(registry.asked).toEqual([]);
  });

  test("port auto: the registry's, the worker's previous port offered first", async () => {
    const registry = ports();
    const { req } = request({ port: "auto" }, {}, { heldPort: 20_001 });
    expect(await portStep(registry).prestart(req)).toEqual({ port: 20_001 });
    expect(registry.asked).toEqual([["web/0", { port: 20_001, held: true }]]);
  });

  test("the environment carries the port and the mount variables found before", async () => {
    const step = envStep({ node: "edge1", dataDir: "/data", agentUrl: "http://127.0.0.1:7070" });
    const { req } = request(
      { env: { A: "1" } },
      {},
      { launch: { ...empty, port: 20_001, mountEnv: { MODEL: "/m/model.bin" } } },
    );
    const { env } = await step.prestart(req);
    expect(env).toMatchObject({ A: "1", PORT: "20001", MODEL: "/m/model.bin", LEVEE_WORKER_ID: "i-1" });
  });
});
