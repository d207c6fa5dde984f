// The usage sampler with made-up counters and a fake clock, on a real store: the first sample only
// sets the counters; CPU is the growth over the window, memory the latest; a worker is measured
// from its second sample on and starts over when it runs as another pid or container; a worker
// whose counters cannot be read is left out; the node's counters failing skips the sample (logged
// once); and the store holds the latest sample whole, which the reporter sends at most every 30 s.
import { describe, expect, test } from "bun:test";
import type { NodeCounters, UsageCounters, UsageReaders } from "../../../src/node/usage/usage-readers.ts";
import { UsageReporter, usageMoved } from "../../../src/node/usage/usage-report.ts";
import {
  type SampledWorker,
  USAGE_SAMPLE_SECONDS,
  UsageSampler,
} from "../../../src/node/usage/usage-sampler.ts";
import { latestUsageSample, localNodeUsage, localWorkerUsage } from "../../../src/node/usage/usage-store.ts";
import type { UsageSample } from "../../../src/protocol/usage.ts";
import { createLogger } from "../../../src/runtime/log.ts";
import { openStore } from "../../../src/store/store.ts";
import { makeTempDir } from "../../harness/cluster.ts";
import { FakeClock, T0 } from "../link/handlers/fixture.ts";

const GIB = 1024 ** 3;

class FakeReaders implements UsageReaders {
  nodeCounters: NodeCounters = {
    cpu: { busy: 1000, total: 4000, cpus: 4 },
    memory: { totalBytes: 8 * GIB, availableBytes: 6 * GIB },
  };
  nodeFails = false;
  groups = new Map<number, UsageCounters>();
  containers = new Map<string, UsageCounters | Error>();
  askedGroups: number[][] = [];
  node(): NodeCounters {
    if (this.nodeFails) throw new Error("no /proc here");
    return structuredClone(this.nodeCounters);
  }
  processGroups(leaders: readonly number[]): Map<number, UsageCounters> {
    this.askedGroups.push([...leaders]);
    return new Map([...this.groups].filter(([pid]) => leaders.includes(pid)).map(([k, v]) => [k, { ...v }]));
  }
  async container(id: string): Promise<UsageCounters | undefined> {
    const c = this.containers.get(id);
    if (c instanceof Error) throw c;
    return c ? { ...c } : undefined;
  }
}

function setup() {
  const store = openStore({ dataDir: makeTempDir(), mode: "edge" });
  const readers = new FakeReaders();
  const clock = new FakeClock();
  const logs: string[] = [];
  const workers: SampledWorker[] = [
    { service: "web", index: 0, pid: 100, containerId: null },
    { service: "db", index: 0, pid: null, containerId: "c1" },
    { service: "web", index: 1, pid: null, containerId: null },
  ];
  const sampler = new UsageSampler({
    readers,
    workers: () => workers,
    store,
    clock,
    log: createLogger({ level: "debug", format: "text", write: (l) => logs.push(l) }),
  });
  readers.groups.set(100, { cpuNanoseconds: 1e9, memoryBytes: 10 * 1024 * 1024 });
  readers.containers.set("c1", { cpuNanoseconds: 50e9, memoryBytes: 200 * 1024 * 1024 });
  const later = (seconds: number) => {
    clock.ms += seconds * 1000;
  };
  return { store, readers, clock, logs, workers, sampler, later };
}

describe("usage sampler", () => {
  test("the first sample sets the counters; the second measures CPU over the window", async () => {
    const { store, readers, sampler, later } = setup();
    expect(await sampler.sample()).toBeUndefined();
    expect(localNodeUsage(store.db)).toBeUndefined();
    later(10);
    // Node: 1000 of 2000 ticks busy on 4 CPUs = 2 cores. Exec worker: 0.5 s of CPU in 10 s.
    readers.nodeCounters.cpu = { busy: 2000, total: 6000, cpus: 4 };
    readers.nodeCounters.memory.availableBytes = 5 * GIB;
    readers.groups.set(100, { cpuNanoseconds: 1.5e9, memoryBytes: 12 * 1024 * 1024 });
    readers.containers.set("c1", { cpuNanoseconds: 52.5e9, memoryBytes: 201 * 1024 * 1024 });
    const sample = (await sampler.sample()) as UsageSample;
    const sampledAt = new Date(T0 + 10_000).toISOString();
    expect(sample.node).toEqual({
      cpuNanocores: 2e9,
      memoryBytes: 3 * GIB,
      cpus: 4,
      memoryCapacityBytes: 8 * GIB,
      windowSeconds: 10,
      sampledAt,
    });
    expect(localNodeUsage(store.db)).toEqual(sample.node);
    expect(localWorkerUsage(store.db)).toEqual([
      {
        service: "db",
        index: 0,
        cpuNanocores: 250e6,
        memoryBytes: 201 * 1024 * 1024,
        windowSeconds: 10,
        sampledAt,
      },
      {
        service: "web",
        index: 0,
        cpuNanocores: 50e6,
        memoryBytes: 12 * 1024 * 1024,
        windowSeconds: 10,
        sampledAt,
      },
    ]);
    expect(localWorkerUsage(store.db, { service: "web" }).map((w) => w.index)).toEqual([0]);
    expect(latestUsageSample(store.db)).toEqual({ node: sample.node, workers: localWorkerUsage(store.db) });
    store.close();
  });

  test("a worker that runs as another pid or container starts over; one that cannot be read is left out", async () => {
    const { store, readers, workers, sampler, logs, later } = setup();
    await sampler.sample();
    later(10);
    await sampler.sample();
    expect(localWorkerUsage(store.db).map((w) => w.service)).toEqual(["db", "web"]);
    // web/0 restarted as pid 200 (a lower CPU counter), Docker cannot answer for db/0.
    workers[0] = { service: "web", index: 0, pid: 200, containerId: null };
    readers.groups.set(200, { cpuNanoseconds: 1e6, memoryBytes: 1024 });
    readers.containers.set("c1", new Error("Docker daemon not reachable"));
    later(10);
    const third = (await sampler.sample()) as UsageSample;
    expect(third.workers).toEqual([]);
    expect(localWorkerUsage(store.db)).toEqual([]);
    expect(logs.join("\n")).toContain("Docker daemon not reachable");
    readers.containers.set("c1", { cpuNanoseconds: 60e9, memoryBytes: 1 });
    readers.groups.set(200, { cpuNanoseconds: 2e6, memoryBytes: 2048 });
    later(10);
    const fourth = (await sampler.sample()) as UsageSample;
    // db/0 was missing from the last sample, so it starts over too.
    expect(fourth.workers.map((w) => [w.service, w.cpuNanocores])).toEqual([["web", 100_000]]);
    store.close();
  });

  test("a sample under way when the sampler stops is not stored", async () => {
    const { readers, sampler, later, store } = setup();
    await sampler.sample();
    later(10);
    let answer: (c: undefined) => void = () => {};
    readers.container = () => new Promise((resolve) => (answer = resolve));
    const pending = sampler.sample();
    sampler.stop();
    answer(undefined);
    expect(await pending).toBeUndefined();
    expect(localNodeUsage(store.db)).toBeUndefined();
    store.close();
  });

  test("a counter that fell gives 0, not a negative rate", async () => {
    const { readers, sampler, later, store } = setup();
    await sampler.sample();
    later(10);
    readers.groups.set(100, { cpuNanoseconds: 0.5e9, memoryBytes: 1 });
    readers.nodeCounters.cpu = { busy: 900, total: 5000, cpus: 4 };
    const sample = (await sampler.sample()) as UsageSample;
    expect(sample.node.cpuNanocores).toBe(0);
    expect(sample.workers.find((w) => w.service === "web")?.cpuNanocores).toBe(0);
    store.close();
  });

  test("timer: samples at start and every interval; the node failing is logged once and skips samples", async () => {
    const { readers, clock, sampler, logs, later, store } = setup();
    sampler.start();
    const timer = clock.pending()[0];
    expect(timer?.ms).toBe(USAGE_SAMPLE_SECONDS * 1000);
    expect(readers.askedGroups).toEqual([[100]]);
    readers.nodeFails = true;
    for (let i = 0; i < 3; i++) {
      later(10);
      clock.fire(timer as NonNullable<typeof timer>);
      await Bun.sleep(0);
    }
    expect(logs.filter((l) => l.includes("cannot sample usage"))).toHaveLength(1);
    expect(localNodeUsage(store.db)).toBeUndefined();
    readers.nodeFails = false;
    later(10);
    clock.fire(timer as NonNullable<typeof timer>);
    await Bun.sleep(0);
    expect(logs.some((l) => l.includes("usage sampling works again"))).toBe(true);
    sampler.stop();
    expect(clock.pending()).toEqual([]);
    store.close();
  });
});

describe("usage reporter", () => {
  test("the latest sample, at most every 30 s, never the same sample twice", async () => {
    const { store, sampler, later, clock } = setup();
    // Every report due: a usage that did not move is reported too.
    const reporter = new UsageReporter(() => latestUsageSample(store.db), 30_000, 0);
    expect(reporter.next(clock.ms)).toBeUndefined();
    await sampler.sample();
    later(10);
    await sampler.sample();
    const first = reporter.next(clock.ms);
    expect(first?.node.cpus).toBe(4);
    expect(first?.workers.map((w) => w.service)).toEqual(["db", "web"]);
    later(5);
    expect(reporter.next(clock.ms)).toBeUndefined();
    // 29.5 s after the last (a heartbeat timer that drifted): due, but no new sample yet.
    later(24.5);
    expect(reporter.next(clock.ms)).toBeUndefined();
    await sampler.sample();
    expect(reporter.next(clock.ms)?.sampledAt).toBe(new Date(clock.ms).toISOString());
    store.close();
  });

  test("a usage that did not move waits for the 5-minute refresh; one that moved goes at once", () => {
    let sample: UsageSample | undefined;
    const at = (s: number, cpu: number, memoryBytes = 100 * 1024 * 1024): UsageSample => ({
      node: {
        cpuNanocores: cpu * 1e6,
        memoryBytes,
        windowSeconds: 10,
        sampledAt: new Date(s * 1000).toISOString(),
        cpus: 2,
        memoryCapacityBytes: 4 * 1024 ** 3,
      },
      workers: [],
    });
    const reporter = new UsageReporter(() => sample);
    sample = at(0, 100);
    expect(reporter.next(0)?.node.cpuMillicores).toBe(100);
    // 30 s later, 400 millicores more (of 2 CPUs), memory 1 MiB more: not news.
    sample = at(30, 500, 101 * 1024 * 1024);
    expect(reporter.next(30_000)).toBeUndefined();
    // 60 s later, 500 millicores more: news.
    sample = at(60, 600);
    expect(reporter.next(60_000)?.node.cpuMillicores).toBe(600);
    sample = at(90, 600);
    expect(reporter.next(90_000)).toBeUndefined();
    // Five minutes after the last report: sent even unchanged.
    sample = at(360, 600);
    expect(reporter.next(360_000)?.sampledAt).toBe(new Date(360_000).toISOString());
  });

  test("usageMoved: other workers, other capacity, or amounts beyond the thresholds", () => {
    const report = (
      cpu: number,
      mem: number,
      workers: { service: string; index: number }[] = [],
      wcpu = 100,
    ) => ({
      sampledAt: "t",
      windowSeconds: 10,
      // 2 CPUs, 4 GiB: the node moves at 500 millicores or 419,431 KiB.
      node: { cpuMillicores: cpu, memoryKiB: mem, cpus: 2, memoryCapacityKiB: 1 << 22 },
      workers: workers.map((w) => ({ ...w, cpuMillicores: wcpu, memoryKiB: 100_000 })),
    });
    const web = [{ service: "web", index: 0 }];
    expect(usageMoved(report(100, 100_000), report(599, 500_000))).toBe(false);
    expect(usageMoved(report(100, 100_000), report(600, 100_000))).toBe(true);
    expect(usageMoved(report(100, 100_000), report(100, 519_431))).toBe(true);
    expect(usageMoved(report(100, 100_000), report(100, 100_000, web))).toBe(true);
    expect(usageMoved(report(0, 0, web, 100), report(0, 0, web, 349))).toBe(false);
    expect(usageMoved(report(0, 0, web, 100), report(0, 0, web, 350))).toBe(true);
    expect(usageMoved(report(0, 0, web, 1000), report(0, 0, web, 1499))).toBe(false);
    expect(usageMoved(report(0, 0, web), report(0, 0, [{ service: "web", index: 1 }]))).toBe(true);
  });
});
