// The lists made from the view alone are built once per view: the same view answers with the same
// objects (no names, uids and content hashes computed again per request), a new view with new ones.
import { expect, test } from "bun:test";
import type { KubeBackend } from "../../src/kube/backend.ts";
import { deriveKubeView } from "../../src/kube/derive.ts";
import { resourceInfo } from "../../src/kube/resources.ts";
import type { KubeView } from "../../src/kube/view.ts";

const viewWith = (phase: string): KubeView =>
  deriveKubeView({
    namespaces: [{ name: "dayu", uid: "u-ns", created: "2026-12-07T00:00:00Z" }],
    nodes: [],
    dayu: [
      {
        kind: "JointMultiEdgeService",
        namespace: "dayu",
        name: "processor",
        uid: "u-1",
        generation: 1,
        created: "2026-12-07T00:00:00Z",
        spec: {
          edgeWorker: [
            { template: { spec: { nodeName: "edge1", containers: [{ name: "a", image: "i/a" }] } } },
          ],
        },
        service: "processor.dayu",
      },
    ],
    workers: [
      {
        service: "processor.dayu",
        node: "edge1",
        index: 0,
        phase,
        ready: phase === "ready",
        restarts: 0,
        message: "",
        since: null,
        exitCode: null,
        signal: null,
      },
    ],
  });

function backendOf(current: () => KubeView): KubeBackend {
  return {
    view: current,
    revision: () => 1,
    onChange: () => () => {},
    apiAddress: () => ({ host: "10.0.0.1", port: 6443, since: "2026-12-07T00:00:00Z" }),
    workerUsage: () => undefined,
    nodeUsage: () => undefined,
  };
}

test("pods and deployments: built once per view, again for a new view", () => {
  let view = viewWith("ready");
  const backend = backendOf(() => view);
  for (const resource of ["pods", "deployments"]) {
    const info = resourceInfo(resource === "pods" ? "" : "apps", "v1", resource);
    const first = info?.list(backend);
    expect(first).toHaveLength(1);
    expect(info?.list(backend)?.[0]?.object).toBe(first?.[0]?.object as never);
  }
  const pods = resourceInfo("", "v1", "pods");
  const before = pods?.list(backend)?.[0]?.object;
  view = viewWith("failed");
  const after = pods?.list(backend)?.[0]?.object;
  expect(after).not.toBe(before as never);
  expect((after?.status as { phase?: string } | undefined)?.phase).toBe("Failed");
  expect((before?.status as { phase?: string } | undefined)?.phase).toBe("Running");
});
