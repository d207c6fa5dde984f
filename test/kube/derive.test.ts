// The view derived from levee's state: one pod per Sedna pod in the order the translation makes
// workers, containers numbered per node, names stable and as dayu-sedna makes them.
import { expect, test } from "bun:test";
import { deriveKubeView } from "../../src/kube/derive.ts";

const pod = (node: string, containers: string[]) => ({
  template: {
    spec: { nodeName: node, containers: containers.map((name) => ({ name, image: `i/${name}` })) },
  },
});

const input = (generation: number) => ({
  namespaces: [{ name: "dayu", uid: "u-ns", created: "2026-12-07T00:00:00Z" }],
  nodes: [],
  dayu: [
    {
      kind: "JointMultiEdgeService" as const,
      namespace: "dayu",
      name: "controller",
      uid: "u-1",
      generation,
      created: "2026-12-07T00:00:00Z",
      spec: {
        serviceConfig: { pos: "both", port: 9000 },
        edgeWorker: [pod("edge1", ["a", "b"]), pod("edge2", ["a"]), pod("edge1", ["c"])],
        cloudWorker: pod("cloud", ["a"]),
      },
      service: "controller.dayu",
      nodePort: 30001,
    },
  ],
  workers: [
    {
      service: "controller.dayu",
      node: "edge1",
      index: 2,
      phase: "ready",
      ready: true,
      restarts: 1,
      message: "",
      since: null,
      exitCode: null,
      signal: null,
    },
  ],
});

test("pods, containers and worker indexes follow the translation's order", () => {
  const view = deriveKubeView(input(1));
  const [service] = view.services;
  expect(
    service?.deployments.map((d) => [
      d.role,
      d.pod.node,
      d.pod.containers.map((c) => `${c.name}#${c.index}`),
    ]),
  ).toEqual([
    ["edgeworker", "edge1", ["a#0", "b#1"]],
    ["edgeworker", "edge2", ["a#0"]],
    ["edgeworker", "edge1", ["c#2"]],
    ["cloudworker", "cloud", ["a#0"]],
  ]);
  // edge1's third worker reported ready.
  expect(service?.deployments[2]?.pod.containers[0]).toMatchObject({
    phase: "ready",
    ready: true,
    restarts: 1,
  });
  expect(service).toMatchObject({ pos: "both", port: 9000, nodePort: 30001 });
});

test("names: stable, distinct per pod, a new template hash for a new generation", () => {
  const one = deriveKubeView(input(1)).services[0]?.deployments ?? [];
  const again = deriveKubeView(input(1)).services[0]?.deployments ?? [];
  const two = deriveKubeView(input(2)).services[0]?.deployments ?? [];
  expect(one.map((d) => d.pod.name)).toEqual(again.map((d) => d.pod.name));
  expect(new Set(one.map((d) => d.name)).size).toBe(4);
  for (const d of one)
    expect(d.name).toMatch(/^controller-(edge|cloud)worker-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  expect(one[0]?.name).toBe(two[0]?.name);
  expect(one[0]?.pod.name).not.toBe(two[0]?.pod.name);
});
