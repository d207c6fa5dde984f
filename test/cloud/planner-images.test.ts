// The planner's `images` (pure): a node's plan names the cloud's copy of the container images its
// workers run, keyed by the template's `image:` as written, and only those; without any, the plan
// has no `images` key at all (plans stay byte-identical); the size counted covers them. And on the
// node, the image a worker gets from the plan is not part of its specHash.
import { describe, expect, test } from "bun:test";
import { type PlannerInput, type PlannerService, planAll } from "../../src/cloud/planner.ts";
import { canonicalJson } from "../../src/manifest/canonical.ts";
import type { PlannedImage } from "../../src/manifest/image-ref.ts";
import { resolveWorkerTemplate } from "../../src/manifest/service.ts";
import { templateSchema } from "../../src/manifest/template.ts";
import { desiredWorker } from "../../src/node/workers/desired.ts";

const cam: PlannedImage = { sha256: "a".repeat(64), size: 1000, id: `sha256:${"b".repeat(64)}` };
const cloudImages: Record<string, PlannedImage> = { "repo:5000/dayuhub/cam:v1": cam };

function service(name: string, template: Record<string, unknown>, node = "edge1"): PlannerService {
  return { name, uid: `${name}-uid`, generation: 1, spec: { template, workers: [{ node }] } };
}

function input(services: PlannerService[], limits?: PlannerInput["limits"]): PlannerInput {
  return {
    services,
    configs: [],
    nodes: [
      { name: "edge1", labels: {}, phase: "Ready" },
      { name: "edge2", labels: {}, phase: "Ready" },
    ],
    resolveTemplate: (spec, entry) =>
      resolveWorkerTemplate(spec as never, entry as never) as unknown as Record<string, unknown>,
    images: (ref) => cloudImages[ref.replace(/^docker\.io\//, "")],
    limits,
  };
}

const container = (image: string) => ({ driver: "container", image });

describe("planner: images", () => {
  test("the images a node's container workers run, as written; none: no key", () => {
    const plans = planAll(
      input([
        service("a", container("repo:5000/dayuhub/cam:v1")),
        service("b", container("docker.io/repo:5000/dayuhub/cam:v1")),
        service("c", container("other:1")),
        service("d", { driver: "exec", command: ["run"], image: "repo:5000/dayuhub/cam:v1" }, "edge2"),
      ]),
    );
    expect(plans.get("edge1")?.plan.images).toEqual({
      "repo:5000/dayuhub/cam:v1": cam,
      "docker.io/repo:5000/dayuhub/cam:v1": cam,
    });
    const edge2 = plans.get("edge2")?.plan;
    expect(edge2 && "images" in edge2).toBe(false);
  });

  test("the size budget counts them", () => {
    const services = [
      service("a", container("repo:5000/dayuhub/cam:v1")),
      service("b", container("other:1")),
    ];
    const full = planAll(input(services)).get("edge1")?.plan;
    const budget = canonicalJson(full).length;
    const limits = { servicesPerNode: 10, workersPerNode: 10, planBytes: () => budget - 1 };
    const limited = planAll(input(services, limits)).get("edge1");
    expect(limited?.plan.services.map((s) => s.name)).toEqual(["a"]);
    expect(canonicalJson(limited?.plan).length).toBeLessThanOrEqual(budget - 1);
  });

  test("on the node: the worker carries the image, its specHash does not change with it", () => {
    const template = templateSchema.parse(container("repo:5000/dayuhub/cam:v1"));
    const without = desiredWorker("a", 0, 1, template, {});
    const withImage = desiredWorker("a", 0, 1, template, {}, 0, cloudImages);
    expect(withImage.image).toEqual(cam);
    expect(without.image).toBeUndefined();
    expect(withImage.specHash).toBe(without.specHash);
  });
});
