// The node's stager with a fake fetcher: it fetches the items of a staged generation's workers
// (each once), reports bytes and state whole (fetching, then ready), stops a fetch the plan no
// longer stages, reports a failure and an unreadable template, and stages nothing without
// `staged`. The artifact fetcher lists a template's artifact mounts; stagedArtifacts what the
// cache keeps.
import { describe, expect, test } from "bun:test";
import type { NodePlan, PlannedService } from "../../../src/manifest/plan.ts";
import {
  artifactFetcher,
  type Fetcher,
  type FetchItem,
  stagedArtifacts,
} from "../../../src/node/staging/fetchables.ts";
import { Stager } from "../../../src/node/staging/stager.ts";
import type { StagingEntry } from "../../../src/protocol/messages.ts";
import { createLogger } from "../../../src/runtime/log.ts";

const log = createLogger({ level: "error", format: "json", write: () => {} });
const sha = (c: string) => c.repeat(64);

const template = (...shas: string[]) => ({
  command: ["sleep", "1"],
  mounts: shas.map((s, i) => ({ artifact: { sha256: s, size: 100 }, envName: `M${i}` })),
});

function plan(staged?: PlannedService["staged"]): Pick<NodePlan, "services"> {
  return {
    services: [
      {
        name: "web",
        uid: "u",
        generation: 1,
        workers: [{ index: 0, template: template() }],
        ...(staged ? { staging: "per-node" as const, staged } : {}),
      },
    ],
  };
}

/** A fetcher whose fetches finish when the test says; each reports half, then resolves. */
function fakeFetcher() {
  const started: string[] = [];
  const pending = new Map<string, { resolve(): void; reject(e: Error): void }>();
  const fetcher: Fetcher = {
    kind: "artifact",
    items: artifactFetcher({ ensure: async () => "" }).items,
    fetch(item: FetchItem, signal, progress) {
      started.push(item.id);
      progress(50, 100);
      return new Promise<void>((resolve, reject) => {
        pending.set(item.id, { resolve, reject });
        signal.addEventListener("abort", () => reject(signal.reason), { once: true });
      });
    },
  };
  return { fetcher, started, pending };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Bun.sleep(0);
}

describe("Stager", () => {
  test("fetches a staged generation's items once each and reports fetching, then ready", async () => {
    const fake = fakeFetcher();
    const reports: StagingEntry[][] = [];
    const stager = new Stager({ fetchers: [fake.fetcher], report: (r) => reports.push(r), log });
    stager.apply(
      plan({
        generation: 2,
        workers: [
          { index: 0, template: template(sha("a"), sha("b")) },
          { index: 1, template: template(sha("a")) },
        ],
      }),
    );
    await settle();
    expect(fake.started).toEqual([sha("a")]);
    expect(stager.entries()).toEqual([
      {
        service: "web",
        generation: 2,
        fetched: 50,
        total: 200,
        state: "fetching",
        message: "fetching 2 item(s)",
      },
    ]);
    fake.pending.get(sha("a"))?.resolve();
    await settle();
    expect(fake.started).toEqual([sha("a"), sha("b")]);
    fake.pending.get(sha("b"))?.resolve();
    await settle();
    expect(stager.entries()).toEqual([
      { service: "web", generation: 2, fetched: 200, total: 200, state: "ready", message: "" },
    ]);
    expect(reports.at(-1)?.[0]?.state).toBe("ready");
    // The same plan again: nothing new.
    stager.apply(plan({ generation: 2, workers: [{ index: 0, template: template(sha("a")) }] }));
    expect(fake.started).toHaveLength(2);
    // No longer staged: the report goes.
    stager.apply(plan());
    expect(reports.at(-1)).toEqual([]);
    stager.close();
  });

  test("a newer staged generation stops the fetch under way and starts its own", async () => {
    const fake = fakeFetcher();
    const stager = new Stager({ fetchers: [fake.fetcher], report: () => {}, log });
    stager.apply(plan({ generation: 2, workers: [{ index: 0, template: template(sha("a")) }] }));
    await settle();
    stager.apply(plan({ generation: 3, workers: [{ index: 0, template: template(sha("c")) }] }));
    await settle();
    expect(fake.started).toEqual([sha("a"), sha("c")]);
    expect(stager.entries().map((e) => [e.generation, e.state])).toEqual([[3, "fetching"]]);
    stager.close();
  });

  test("a failed fetch and an unreadable template are reported as failed, naming why", async () => {
    const fake = fakeFetcher();
    const stager = new Stager({ fetchers: [fake.fetcher], report: () => {}, log });
    stager.apply(plan({ generation: 2, workers: [{ index: 0, template: template(sha("a")) }] }));
    await settle();
    fake.pending.get(sha("a"))?.reject(new Error("artifact unknown to the cloud"));
    await settle();
    expect(stager.entries()[0]).toMatchObject({ state: "failed", message: "artifact unknown to the cloud" });
    stager.close();

    const other = new Stager({ fetchers: [fake.fetcher], report: () => {}, log });
    other.apply(plan({ generation: 4, workers: [{ index: 0, template: { driver: "nope" } }] }));
    await settle();
    expect(other.entries()[0]?.state).toBe("failed");
    expect(other.entries()[0]?.message).toContain("worker 0: this agent cannot read the template: driver");
    other.close();
  });

  test("stagedArtifacts: the artifacts of the staged workers only", () => {
    const p = plan({ generation: 2, workers: [{ index: 0, template: template(sha("d")) }] });
    expect([...stagedArtifacts(p)]).toEqual([sha("d")]);
    expect([...stagedArtifacts(plan())]).toEqual([]);
  });
});
