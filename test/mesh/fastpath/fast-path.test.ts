// The fast path's lifecycle with a fake nft: plans rebuild the table (debounced, one at a time, the
// latest wins), a refused rebuild removes the table and says so once, the previous run's table is
// kept until the plan covers it (or the start settled), close keeps or removes the table.
import { describe, expect, test } from "bun:test";
import { FastPath, type FastPathOptions } from "../../../src/mesh/fastpath/fast-path.ts";
import type { NftRunner } from "../../../src/mesh/fastpath/nft.ts";
import type { FastPathPlan, FastRoute } from "../../../src/mesh/fastpath/plan.ts";
import type { CounterValue } from "../../../src/mesh/fastpath/ruleset.ts";
import { createLogger } from "../../../src/runtime/log.ts";

class FakeNft implements NftRunner {
  scripts: string[] = [];
  counterValues = new Map<string, CounterValue>();
  failWith: string | undefined;
  loopbackAllowed = 0;
  async apply(script: string): Promise<void> {
    this.scripts.push(script);
    if (this.failWith && script.includes("{")) throw new Error(this.failWith);
  }
  async counters(): Promise<Map<string, CounterValue>> {
    return new Map(this.counterValues);
  }
  allowLoopbackDnat(): void {
    this.loopbackAllowed++;
  }
  /** The tables the scripts leave: whether the last one built a table. */
  hasTable(): boolean {
    return (this.scripts.at(-1) ?? "").includes("{");
  }
}

const route = (service: string, port: number, workerPort: number): FastRoute => ({
  service,
  port,
  protocol: "http",
  balance: "round-robin",
  workers: [{ index: 0, port: workerPort }],
});

function planOf(...routes: FastRoute[]): FastPathPlan {
  return {
    routes,
    notes: new Map(
      routes.map((r) => [r.service, { path: "kernel" as const, reason: `to ${r.workers[0]?.port}` }]),
    ),
  };
}

function setup(extra: Partial<FastPathOptions> = {}) {
  const nft = new FakeNft();
  const lines: string[] = [];
  const log = createLogger({ level: "debug", format: "json", write: (line) => lines.push(line) });
  let changes = 0;
  const make = () =>
    new FastPath({
      mode: "auto",
      table: "levee-edge-e1",
      runner: nft,
      bindAddress: "0.0.0.0",
      log,
      onChange: () => changes++,
      debounceMs: 5,
      settleMs: 0,
      ...extra,
    });
  return { nft, lines, make, changes: () => changes };
}

describe("fast path lifecycle", () => {
  test("a plan rebuilds the table; routes are on the kernel's path once applied", async () => {
    const { nft, make, changes } = setup();
    const fastPath = make();
    fastPath.update(planOf(route("web", 8080, 20001)));
    expect(fastPath.note("web").path).toBe("userspace");
    await fastPath.flush();
    expect(nft.hasTable()).toBe(true);
    expect(nft.scripts.at(-1)).toContain("dnat ip to 127.0.0.1:20001");
    expect(nft.loopbackAllowed).toBe(1);
    expect(fastPath.note("web")).toEqual({ path: "kernel", reason: "to 20001" });
    expect(changes()).toBe(1);
    expect(fastPath.describe()).toContain("1 route(s) on the kernel's path");
  });

  test("a burst of plans: the latest wins, rebuilt once", async () => {
    const { nft, make } = setup();
    const fastPath = make();
    fastPath.update(planOf(route("web", 8080, 20001)));
    fastPath.update(planOf(route("web", 8080, 20002)));
    fastPath.update(planOf());
    await fastPath.flush();
    expect(nft.scripts).toEqual(["add table inet levee-edge-e1\ndelete table inet levee-edge-e1\n"]);
    expect(fastPath.note("web").path).toBe("userspace");
  });

  test("a worker that is no longer ready leaves the table within the debounce", async () => {
    const { nft, make } = setup({ debounceMs: 50 });
    const fastPath = make();
    fastPath.update(planOf(route("web", 8080, 20001)));
    await fastPath.flush();
    fastPath.update({
      routes: [],
      notes: new Map([["web", { path: "userspace", reason: "no ready worker" }]]),
    });
    await Bun.sleep(200);
    expect(nft.hasTable()).toBe(false);
    expect(fastPath.note("web")).toEqual({ path: "userspace", reason: "no ready worker" });
  });

  test("the kernel refuses: the table is removed, said once, routes on userspace; it recovers", async () => {
    const { nft, make, lines } = setup();
    const fastPath = make();
    nft.failWith = "Operation not permitted";
    fastPath.update(planOf(route("web", 8080, 20001)));
    await fastPath.flush();
    fastPath.update(planOf(route("web", 8080, 20001)));
    await fastPath.flush();
    expect(nft.hasTable()).toBe(false);
    expect(fastPath.note("web").reason).toContain("unavailable: Operation not permitted");
    expect(fastPath.describe()).toContain("unavailable");
    expect(lines.filter((l) => l.includes("mesh fast path unavailable")).length).toBe(1);
    nft.failWith = undefined;
    fastPath.update(planOf(route("web", 8080, 20001)));
    await fastPath.flush();
    expect(fastPath.note("web").path).toBe("kernel");
  });

  test("counters carry over a rebuild and are read per route", async () => {
    const { nft, make } = setup();
    const fastPath = make();
    nft.counterValues.set("conns-8080", { packets: 4, bytes: 240 });
    nft.counterValues.set("from-worker-8080", { packets: 9, bytes: 9000 });
    fastPath.update(planOf(route("web", 8080, 20001)));
    await fastPath.flush();
    expect(nft.scripts.at(-1)).toContain("counter conns-8080 { packets 4 bytes 240 }");
    expect(await fastPath.counters()).toEqual([
      { service: "web", port: 8080, connections: 4, bytesToWorker: 0, bytesFromWorker: 9000 },
    ]);
  });

  test("at start, the previous run's table stays until the plan covers it or the start settles", async () => {
    const { nft, make } = setup({ settleMs: 300 });
    nft.counterValues.set("conns-8080", { packets: 1, bytes: 60 });
    const fastPath = make();
    fastPath.update(planOf());
    await Bun.sleep(100);
    expect(nft.scripts).toEqual([]);
    fastPath.update(planOf(route("web", 8080, 20001)));
    await Bun.sleep(100);
    expect(nft.hasTable()).toBe(true);

    const later = setup({ settleMs: 200 });
    later.nft.counterValues.set("conns-8080", { packets: 1, bytes: 60 });
    const settling = later.make();
    settling.update(planOf());
    await Bun.sleep(500);
    expect(later.nft.scripts.length).toBe(1);
    expect(later.nft.hasTable()).toBe(false);
  });

  test("close keeps the table for running workers, removes it otherwise; off removes it at start", async () => {
    /** A fast path with web on the kernel's path. */
    const serving = async () => {
      const made = setup();
      const fastPath = made.make();
      fastPath.update(planOf(route("web", 8080, 20001)));
      await fastPath.flush();
      return { ...made, fastPath };
    };
    const kept = await serving();
    const a = kept.fastPath;
    await a.close(true);
    expect(kept.nft.hasTable()).toBe(true);
    a.update(planOf());
    await Bun.sleep(30);
    expect(kept.nft.hasTable()).toBe(true);

    const removed = await serving();
    await removed.fastPath.close(false);
    expect(removed.nft.hasTable()).toBe(false);

    const off = setup({ mode: "off" });
    const c = off.make();
    c.update(planOf(route("web", 8080, 20001)));
    await Bun.sleep(30);
    expect(off.nft.scripts).toEqual(["add table inet levee-edge-e1\ndelete table inet levee-edge-e1\n"]);
    expect(c.note("web").reason).toContain("--mesh-fast-path off");
  });
});
