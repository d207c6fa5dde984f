// `levee demo` (what `npm start` runs): the pipeline it applies for N edges, its summary lines, and
// the real thing: it starts a cloud and 3 edges on 127.0.0.10-13, applies the Dayu-like pipeline,
// prints summaries with tasks flowing, and Ctrl-C (SIGINT to its process group, as a terminal
// sends it) leaves no process and no listener behind. The demo's addresses are fixed: this file
// must not run while another demo runs on this machine (it fails, naming the busy address).
import { describe, expect, test } from "bun:test";
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { dashboardHint, lookInside } from "../../src/cli/demo/hints.ts";
import { meshPort, PIPELINE_YAML, pipelineFor, workerCounts } from "../../src/cli/demo/pipeline-manifest.ts";
import { notReady } from "../../src/cli/demo/pipeline-runner.ts";
import { formatSummary, type PipelineStats } from "../../src/cli/demo/summary.ts";
import { canConnect, cleanEnv, leveeCommand, makeTempDir, REPO_ROOT, waitUntil } from "../harness/cluster.ts";
import { workerPidsUnder } from "../harness/workers.ts";

type Obj = { kind: string; metadata: { name: string }; spec: { workers: { node: string }[] } };

function placement(objects: unknown[]): Record<string, string[]> {
  return Object.fromEntries(
    (objects as Obj[])
      .filter((o) => o.kind === "Service")
      .map((o) => [o.metadata.name, o.spec.workers.map((w) => w.node)]),
  );
}

describe("the demo's pipeline", () => {
  test("is examples/dayu-pipeline/pipeline.yaml, embedded", () => {
    expect(PIPELINE_YAML).toBe(readFileSync(join(REPO_ROOT, "examples/dayu-pipeline/pipeline.yaml"), "utf8"));
  });

  test("with 3 edges: as written", () => {
    const objects = pipelineFor(["edge1", "edge2", "edge3"]);
    expect(placement(objects)).toEqual({
      distributor: ["cloud"],
      scheduler: ["cloud"],
      processor: ["cloud", "edge1", "edge2"],
      controller: ["cloud", "edge1", "edge2", "edge3"],
      generator: ["edge1", "edge2", "edge3"],
      monitor: ["cloud", "edge1", "edge2", "edge3"],
    });
    expect(objects.filter((o) => o.kind === "Config")).toHaveLength(1);
    expect(meshPort(objects, "distributor")).toBe(30903);
    expect([...workerCounts(objects).values()].reduce((a, b) => a + b)).toBe(16);
  });

  test("with 1 or 5 edges: per-edge services follow the edges, the processor keeps the edges that exist", () => {
    expect(placement(pipelineFor(["edge1"]))).toMatchObject({
      processor: ["cloud", "edge1"],
      controller: ["cloud", "edge1"],
      generator: ["edge1"],
    });
    const five = ["edge1", "edge2", "edge3", "edge4", "edge5"];
    expect(placement(pipelineFor(five))).toMatchObject({
      processor: ["cloud", "edge1", "edge2"],
      controller: ["cloud", ...five],
      generator: five,
      monitor: ["cloud", ...five],
    });
    expect(placement(pipelineFor([]))).toEqual({
      distributor: ["cloud"],
      scheduler: ["cloud"],
      processor: ["cloud"],
      controller: ["cloud"],
      monitor: ["cloud"],
    });
  });
});

describe("the demo's output", () => {
  test("summary: throughput, correctness, per-stage latency, where tasks ran", () => {
    const stats: PipelineStats = {
      tasks: { received: 120, duplicates: 1, perSecond: 14.96 },
      latencyMs: {
        upload: { p50: 1.2, p99: 7 },
        schedule: { p50: 3, p99: 10 },
        process: { p50: 2, p99: 12 },
        distribute: { p50: null, p99: null },
        total: { p50: 8, p99: 33 },
      },
      ranOn: { edge1: 30, cloud: 60, edge2: 30 },
      placement: { sameNode: 30, otherEdge: 30, cloud: 60 },
      generators: {
        edge1: { generated: 62, received: 60, missing: 2, failed: 0 },
        edge2: { generated: 60, received: 60, missing: 0, failed: 1 },
      },
      byteMismatches: 0,
      violations: 0,
      resources: { edge1: { cpuPercent: 12.4 }, cloud: { cpuPercent: 30 } },
    };
    expect(formatSummary(stats, 65_000)).toEqual([
      "[1:05] 15.0 tasks/s · 122 generated, 120 done, 2 on the way, 1 GIVEN UP · duplicates 1 · byte errors 0 · wrong node 0",
      "    latency ms p50/p99: upload 1/7  schedule 3/10  process 2/12  distribute -/-  total 8/33",
      "    ran on: cloud 60 · edge1 30 · edge2 30 (same node 25%, other edge 25%, cloud 50%)",
      "    cpu: cloud 30% · edge1 12%",
    ]);
  });

  test("what is not ready yet names the service, node and cause", () => {
    const counts = new Map([
      ["processor", 2],
      ["scheduler", 1],
    ]);
    const items = [
      { service: "processor", node: "edge1", index: 0, ready: false, phase: "backoff", message: "exited 1" },
      { service: "scheduler", node: "cloud", index: 0, ready: true, phase: "ready", message: "" },
    ];
    expect(notReady(items, counts)).toEqual([
      "processor on edge1 #0: backoff (exited 1)",
      "processor: 1 of 2 workers planned",
    ]);
  });

  test("look-inside commands use the demo's data dir, relative to the current directory", () => {
    const lines = lookInside({
      levee: "npm run levee --",
      cloudDataDir: "/src/levee/.data/demo/cloud",
      cloudAddress: "127.0.0.10",
      edge: { name: "edge1", address: "127.0.0.11" },
      distributorUrl: "http://127.0.0.10:30903/stats",
      cwd: "/src/levee",
    });
    expect(lines).toContain("  npm run levee -- ctl --data-dir .data/demo/cloud get workers");
    expect(lines.some((l) => l.startsWith("  curl http://127.0.0.11:7401/v1/catalog"))).toBe(true);
    expect(lines.join("\n")).not.toContain("not yet");
    expect(
      dashboardHint({
        cloudDataDir: "/src/levee/.data/demo/cloud",
        cloudAddress: "127.0.0.10",
        cwd: "/src/levee",
      }),
    ).toEqual([
      "  dashboard: http://127.0.0.10:7400/ui (map, services, traffic, events, worker logs)",
      "    log in with the admin token: cat .data/demo/cloud/admin.token",
    ]);
  });
});

const ADDRESSES = ["127.0.0.10", "127.0.0.11", "127.0.0.12", "127.0.0.13"];
const PORTS = [7400, 1883, 7401, 7402, 7403, 30900, 30901, 30902, 30903];

async function listeners(): Promise<string[]> {
  const checks = ADDRESSES.flatMap((host) =>
    PORTS.map(async (port) => ((await canConnect(host, port)) ? `${host}:${port}` : "")),
  );
  return (await Promise.all(checks)).filter(Boolean);
}

/** Processes whose command line names the demo's data dir (its agents). */
function processesNaming(dir: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, "utf8").replaceAll("\0", " ");
      if (cmdline.includes(dir)) found.push(`${name}: ${cmdline.slice(0, 200)}`);
    } catch {
      // gone
    }
  }
  return found;
}

test("levee demo: tasks flow, Ctrl-C leaves no process and no listener", async () => {
  const busy = await listeners();
  if (busy.length > 0)
    throw new Error(`the demo's addresses are in use (another demo running?): ${busy.join(", ")}`);
  const dataDir = makeTempDir("levee-demo-test-");
  const [command, ...args] = leveeCommand();
  let stdout = "";
  let stderr = "";
  const demo: ChildProcess = spawn(
    command as string,
    [...args, "demo", "--data-dir", dataDir, "--edges", "3"],
    {
      // Its own process group: SIGINT to the group is what a terminal's Ctrl-C does.
      detached: true,
      env: { ...process.env, ...cleanEnv() } as NodeJS.ProcessEnv,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const exited = new Promise<number | null>((resolve) => demo.on("exit", (code) => resolve(code)));
  demo.stdout?.on("data", (chunk) => {
    stdout += chunk;
  });
  demo.stderr?.on("data", (chunk) => {
    stderr += chunk;
  });
  const pid = demo.pid as number;
  try {
    await waitUntil(
      "a summary with tasks done",
      () => {
        const done = [...stdout.matchAll(/ tasks\/s · (\d+) generated, (\d+) done/g)].map((m) =>
          Number(m[2]),
        );
        return done.some((n) => n > 0);
      },
      120_000,
    );
    expect(stdout).toContain("levee demo: 4 agents ready");
    expect(stdout).toContain("levee demo: pipeline ready");
    expect(stdout).toContain(`ctl --data-dir ${join(dataDir, "demo", "cloud")} get workers`);
    expect(stdout).toContain("  dashboard: http://127.0.0.10:7400/ui");
    expect(stdout).toContain(
      `log in with the admin token: cat ${join(dataDir, "demo", "cloud", "admin.token")}`,
    );
    const summary = stdout.split("\n").filter((l) => / tasks\/s · /.test(l));
    expect(summary.at(-1)).toMatch(/byte errors 0 · wrong node 0$/);
    expect(stdout).toMatch(/ran on: .*cloud \d+/);

    process.kill(-pid, "SIGINT");
    const code = await Promise.race([exited, Bun.sleep(30_000).then(() => "timeout" as const)]);
    expect(code).toBe(0);
    // Nothing left: no worker, no agent, no listener on the demo's addresses.
    expect(workerPidsUnder([dataDir])).toEqual([]);
    expect(processesNaming(dataDir)).toEqual([]);
    expect(await listeners()).toEqual([]);
  } catch (err) {
    process.stderr.write(
      `----- demo stdout -----\n${stdout}\n----- demo stderr -----\n${stderr.slice(-20_000)}\n`,
    );
    throw err;
  } finally {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}, 180_000);
