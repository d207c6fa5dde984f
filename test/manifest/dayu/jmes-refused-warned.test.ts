// JointMultiEdgeService: what is refused (running would be wrong) and what is warned about (levee
// does not honour it; said once per field with the reason, never dropped without a word).
import { describe, expect, test } from "bun:test";
import { container, expectIssue, jmes, translate, warningAt, worker } from "./helpers.ts";

describe("refused: running would be wrong", () => {
  test("no worker at all", () => {
    expectIssue(jmes({ edgeWorker: [] }), "spec", /nothing to run/);
  });

  test("a worker without nodeName, or with a name that is no levee node name", () => {
    expectIssue(jmes({ edgeWorker: [worker("")] }), "spec.edgeWorker[0].template.spec.nodeName", /required/);
    expectIssue(
      jmes({ edgeWorker: [worker("Edge_1")] }),
      "spec.edgeWorker[0].template.spec.nodeName",
      /DNS subdomain/,
    );
    expectIssue(
      jmes({ edgeWorker: [worker("cloud..kubeedge")] }),
      "spec.edgeWorker[0].template.spec.nodeName",
      /DNS subdomain/,
    );
  });

  test("a worker without a template, a template without containers", () => {
    expectIssue(
      jmes({ edgeWorker: [{ logLevel: { level: "INFO" } }] }),
      "spec.edgeWorker[0].template",
      /required/,
    );
    expectIssue(
      jmes({ edgeWorker: [worker("edge1", [])] }),
      "spec.edgeWorker[0].template.spec.containers",
      /at least one/,
    );
  });

  test("envFrom and initContainers", () => {
    const c = container("img:1", { envFrom: [{ configMapRef: { name: "x" } }] });
    expectIssue(
      jmes({ edgeWorker: [worker("edge1", [c])] }),
      "spec.edgeWorker[0].template.spec.containers[0].envFrom",
      /not supported/,
    );
    const init = worker("edge1", [container()], {}, { initContainers: [container()] });
    expectIssue(
      jmes({ edgeWorker: [init] }),
      "spec.edgeWorker[0].template.spec.initContainers",
      /init containers/,
    );
  });

  test("a name that cannot name a Service; wrong types are named with their path", () => {
    expectIssue(
      jmes({ edgeWorker: [worker("edge1")] }, { name: "processor.car" }),
      "metadata.name",
      /levee names the Service/,
    );
    const numeric = container("img:1", { env: [{ name: "N", value: 5 }] });
    expectIssue(
      jmes({ edgeWorker: [worker("edge1", [numeric])] }),
      "spec.edgeWorker[0].template.spec.containers[0].env[0].value",
      /quote it/,
    );
  });
});

describe("warnings: what levee does not honour is said, once per field", () => {
  test("Dayu's usual pod fields, with the reason", () => {
    const pod = worker(
      "edge1",
      [
        container("img:1", {
          imagePullPolicy: "Always",
          resources: { limits: { cpu: "1", "example.com/fpga": 1 }, requests: { cpu: "1" } },
        }),
      ],
      { hardExampleMining: { name: "IBT" } },
      { serviceAccountName: "worker-admin", dnsPolicy: "ClusterFirstWithHostNet", tolerations: [] },
    );
    const { warnings } = translate(jmes({ edgeWorker: [pod] }));
    const at = "spec.edgeWorker[0].template.spec";
    expect(warnings.some((w) => w.path.endsWith("serviceAccountName"))).toBe(false); // it is kubeApi
    expect(warningAt(warnings, `${at}.dnsPolicy`)).toMatch(/no cluster DNS/);
    expect(warningAt(warnings, `${at}.tolerations`)).toMatch(/placement is by nodeName/);
    expect(warningAt(warnings, `${at}.containers[0].imagePullPolicy`)).toMatch(/does not pull images/);
    expect(warningAt(warnings, `${at}.containers[0].resources.requests`)).toMatch(/requests/);
    expect(warningAt(warnings, `${at}.containers[0].resources.limits["example.com/fpga"]`)).toMatch(
      /cpu and memory only/,
    );
    expect(warningAt(warnings, "spec.edgeWorker[0].hardExampleMining")).toMatch(/ignored/);
  });

  test("unknown fields at any level are warnings with their path (never dropped silently)", () => {
    const object = {
      ...jmes(
        { edgeWorker: [worker("edge1", [container("img:1", { colour: "red" })])], extra: 1 },
        { finalizers: ["x"] },
      ),
      topLevel: true,
    };
    const { warnings } = translate(object);
    expect(warnings.map((w) => w.path).sort()).toEqual(
      [
        "metadata.finalizers",
        "spec.edgeWorker[0].template.spec.containers[0].colour",
        "spec.extra",
        "topLevel",
      ].sort(),
    );
  });

  test("the same field in several workers is one warning that says how many more", () => {
    const pod = (node: string) => worker(node, [container()], {}, { dnsPolicy: "ClusterFirstWithHostNet" });
    const { warnings } = translate(
      jmes({ edgeWorker: [pod("edge1"), pod("edge2")], cloudWorker: pod("cloud") }),
    );
    const sa = warnings.filter((w) => w.path.endsWith("dnsPolicy"));
    expect(sa).toHaveLength(1);
    expect(sa[0]?.message).toMatch(/also in 2 more places/);
  });

  test("system metadata and status (as get -o yaml prints them) are accepted without a word", () => {
    const object = {
      ...jmes(
        { edgeWorker: [worker("edge1")] },
        {
          uid: "u",
          resourceVersion: "12",
          generation: 3,
          creationTimestamp: "2024-01-01T00:00:00Z",
          managedFields: [],
        },
      ),
      status: { active: 1 },
    };
    expect(translate(object).warnings).toEqual([]);
  });
});

describe("GPUs: what Kubernetes' device plugin and RuntimeClass ask for, as levee's fields", () => {
  test("nvidia.com/gpu limits become gpus, runtimeClassName the Docker runtime (Jetson)", () => {
    const pod = worker(
      "jetson1",
      [container("repo:5000/dayuhub/processor:v1", { resources: { limits: { "nvidia.com/gpu": "1" } } })],
      {},
      { runtimeClassName: "nvidia" },
    );
    const { service, warnings } = translate(jmes({ edgeWorker: [pod] }));
    const template = (service.spec.workers[0]?.template ?? service.spec.template) as Record<string, unknown>;
    expect({ ...service.spec.template, ...template }).toMatchObject({
      driver: "container",
      image: "repo:5000/dayuhub/processor:v1",
      gpus: 1,
      runtime: "nvidia",
    });
    expect(warnings.filter((w) => /gpu|runtimeClass/i.test(w.path))).toEqual([]);
  });
});
