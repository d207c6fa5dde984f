// The planner, pure: where workers go, their indices, which configs and cloud images travel with a plan.
import { describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import {
  type PlannerInput,
  type PlannerService,
  pinnedToUnknownNodes,
  planAll,
} from "../../src/cloud/planner.ts";
import { canonicalJson, sha256Hex } from "../../src/manifest/canonical.ts";
import type { PlannedImage } from "../../src/manifest/image-ref.ts";
import { resolveWorkerTemplate } from "../../src/manifest/service.ts";
import { encodeMessage, MAX_MESSAGE_BYTES, newMessage, planBodyLimit } from "../../src/protocol/messages.ts";

function service(
  name: string,
  workers: PlannerService["spec"]["workers"],
  mounts: unknown[] = [],
): PlannerService {
  return {
    name,
    uid: `${name}-uid`,
    generation: 1,
    spec: { template: { driver: "exec", command: ["run"], env: { A: "1" }, mounts }, workers },
  };
}

function input(services: PlannerService[], nodes: PlannerInput["nodes"]): PlannerInput {
  return {
    services,
    configs: [
      { name: "models", spec: { data: { "a.txt": "x" } } },
      { name: "unused", spec: { data: { "b.txt": "y" } } },
    ],
    nodes,
    resolveTemplate: (spec, entry) =>
      resolveWorkerTemplate(spec as never, entry as never) as unknown as Record<string, unknown>,
  };
}

const nodes: PlannerInput["nodes"] = [
  { name: "edge1", labels: { role: "camera" }, phase: "Ready" },
  { name: "edge2", labels: { role: "camera" }, phase: "Lost" },
  { name: "edge3", labels: {}, phase: "Disconnected" },
];

describe("planner", () => {
  test("pinned workers go to their node whatever its phase; selectors skip Lost nodes", () => {
    const plans = planAll(
      input(
        [
          service("pinned", [{ node: "edge2", replicas: 2 }]),
          service("cameras", [{ nodeSelector: { role: "camera" }, replicas: 1 }]),
        ],
        nodes,
      ),
    );
    expect(plans.get("edge1")?.plan.services.map((s) => [s.name, s.workers.length])).toEqual([
      ["cameras", 1],
    ]);
    expect(plans.get("edge2")?.plan.services.map((s) => [s.name, s.workers.length])).toEqual([["pinned", 2]]);
    expect(plans.get("edge3")?.plan.services).toEqual([]);
  });

  test("indices count per node across worker entries, overrides are merged", () => {
    const plans = planAll(
      input(
        [
          service("svc", [
            { node: "edge1", replicas: 2 },
            { nodeSelector: { role: "camera" }, template: { env: { B: "2" } } },
          ]),
        ],
        nodes,
      ),
    );
    const workers = plans.get("edge1")?.plan.services[0]?.workers ?? [];
    expect(workers.map((w) => w.index)).toEqual([0, 1, 2]);
    expect(workers.map((w) => (w.template as { env: Record<string, string> }).env)).toEqual([
      { A: "1" },
      { A: "1" },
      { A: "1", B: "2" },
    ]);
  });

  test("only the configs mounted by a node's workers travel in its plan", () => {
    const mounts = [{ config: { name: "models" }, target: "/models" }];
    const plans = planAll(input([service("svc", [{ node: "edge1" }], mounts)], nodes));
    // By reference: each file's sha256 and size, never its bytes.
    expect(plans.get("edge1")?.plan.configFiles).toEqual({
      models: { "a.txt": { sha256: sha256Hex("x"), size: 1 } },
    });
    expect(plans.get("edge3")?.plan.configFiles).toEqual({});
  });

  test("workers pinned to nodes that have not joined are reported", () => {
    expect(pinnedToUnknownNodes(input([service("svc", [{ node: "edge9", replicas: 3 }])], nodes))).toEqual([
      { service: "svc", node: "edge9", replicas: 3 },
    ]);
  });

  test("limits: a service goes whole or not at all; the services a node ran before are placed first", () => {
    const limits = { servicesPerNode: 2, workersPerNode: 3, planBytes: () => Number.POSITIVE_INFINITY };
    const base = input(
      [
        service("a", [{ node: "edge1", replicas: 2 }]),
        service("b", [{ node: "edge1", replicas: 2 }]),
        service("c", [{ node: "edge1" }]),
      ],
      nodes,
    );
    const fresh = planAll({ ...base, limits }).get("edge1");
    expect(fresh?.plan.services.map((s) => s.name)).toEqual(["a", "c"]);
    expect(fresh?.unplaced).toEqual([
      {
        service: "b",
        node: "edge1",
        workers: 2,
        limit: "workersPerNode",
        reason: "node edge1 would run 4 workers, the limit (--max-workers-per-node) is 3",
      },
    ]);
    // b ran there before: it keeps its place, the newcomer a waits.
    const placedBefore = (node: string) => new Set(node === "edge1" ? ["b"] : []);
    const stable = planAll({ ...base, limits, placedBefore }).get("edge1");
    expect(stable?.plan.services.map((s) => s.name)).toEqual(["b", "c"]);
    expect(stable?.unplaced.map((u) => u.service)).toEqual(["a"]);
  });

  test("limits: the plan's size is counted as it grows and never exceeds the budget", () => {
    const big = (name: string) => ({
      ...service(name, [{ node: "edge1" }]),
      spec: {
        template: { driver: "exec", command: ["run"], env: { PAD: "x".repeat(1000) } },
        workers: [{ node: "edge1" }],
      },
    });
    const all = planAll(input([big("a"), big("b"), big("c")], nodes));
    const one = canonicalJson(all.get("edge1")?.plan.services[0]).length;
    const budget = canonicalJson(all.get("edge1")?.plan).length - one; // room for two of the three
    const limited = planAll({
      ...input([big("a"), big("b"), big("c")], nodes),
      limits: { servicesPerNode: 100, workersPerNode: 100, planBytes: () => budget },
    }).get("edge1");
    expect(limited?.plan.services.map((s) => s.name)).toEqual(["a", "b"]);
    expect(canonicalJson(limited?.plan).length).toBeLessThanOrEqual(budget);
    expect(limited?.unplaced[0]).toMatchObject({ service: "c", limit: "planBytes" });
  });

  test("a plan body within planBodyLimit makes a plan message within the limit", () => {
    const node = "n".repeat(63);
    const room = planBodyLimit(node);
    const plan = { node, services: [], configFiles: {}, pad: "p".repeat(room - 60 - 2 * node.length) };
    const body = canonicalJson(plan);
    expect(body.length).toBeLessThanOrEqual(room);
    const msg = newMessage(node, {
      type: "plan",
      epoch: randomUUID(),
      revision: 12345,
      hash: "h".repeat(64),
      format: 2,
      plan,
    });
    expect(encodeMessage(msg).length).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
  });
});

const cam: PlannedImage = { sha256: "a".repeat(64), size: 1000, id: `sha256:${"b".repeat(64)}` };
const cloudImages: Record<string, PlannedImage> = { "repo:5000/dayuhub/cam:v1": cam };

/** A node's plan names the cloud's copy of the images its container workers run (as written), only those. */
describe("planner: container images the cloud holds", () => {
  const container = (name: string, image: string, node = "edge1"): PlannerService => ({
    name,
    uid: `${name}-uid`,
    generation: 1,
    spec: { template: { driver: "container", image }, workers: [{ node }] },
  });
  const withImages = (services: PlannerService[], limits?: PlannerInput["limits"]): PlannerInput => ({
    ...input(services, nodes),
    images: (ref) => cloudImages[ref.replace(/^docker\.io\//, "")],
    limits,
  });

  test("keyed by the template's image as written; none: no images key (plans as before)", () => {
    const exec = service("d", [{ node: "edge3" }]);
    exec.spec.template.image = "repo:5000/dayuhub/cam:v1";
    const plans = planAll(
      withImages([
        container("a", "repo:5000/dayuhub/cam:v1"),
        container("b", "docker.io/repo:5000/dayuhub/cam:v1"),
        container("c", "other:1"),
        exec,
      ]),
    );
    expect(plans.get("edge1")?.plan.images).toEqual({
      "repo:5000/dayuhub/cam:v1": cam,
      "docker.io/repo:5000/dayuhub/cam:v1": cam,
    });
    const edge3 = plans.get("edge3")?.plan;
    expect(edge3 && "images" in edge3).toBe(false);
  });

  test("the size budget counts them", () => {
    const services = [container("a", "repo:5000/dayuhub/cam:v1"), container("b", "other:1")];
    const budget = canonicalJson(planAll(withImages(services)).get("edge1")?.plan).length;
    const limits = { servicesPerNode: 10, workersPerNode: 10, planBytes: () => budget - 1 };
    const limited = planAll(withImages(services, limits)).get("edge1");
    expect(limited?.plan.services.map((s) => s.name)).toEqual(["a"]);
    expect(canonicalJson(limited?.plan).length).toBeLessThanOrEqual(budget - 1);
  });
});
