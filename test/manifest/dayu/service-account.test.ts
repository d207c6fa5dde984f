// A pod's service account → the worker's kubeApi: serviceAccountName (or its deprecated alias) names
// the account, automountServiceAccountToken: false takes the access away, and Dayu's
// KUBERNETES_SERVICE_HOST/PORT (the cloud's apiserver) give way to the agent's, said once.
import { describe, expect, test } from "bun:test";
import { container, env, expectIssue, jmes, resolved, runtimeService, translate, worker } from "./helpers.ts";

const DAYU_ENV = env({
  GUNICORN_PORT: "9000",
  KUBERNETES_SERVICE_HOST: "192.168.1.10",
  KUBERNETES_SERVICE_PORT: "6443",
  KUBE_CACHE_TTL: "5.0",
});

describe("a pod's service account", () => {
  test("serviceAccountName is the worker's kubeApi; the agent's API address replaces Dayu's", () => {
    const pod = (node: string) =>
      worker(node, [container("img:1", { env: DAYU_ENV })], {}, { serviceAccountName: "worker-admin" });
    const { service, warnings } = translate(
      jmes({ edgeWorker: [pod("edge1"), pod("edge2")], cloudWorker: pod("cloud") }),
    );
    for (const i of [0, 1, 2]) {
      const t = resolved(service, i);
      expect(t.kubeApi).toEqual({ serviceAccount: "worker-admin" });
      expect(t.env?.KUBERNETES_SERVICE_HOST).toBeUndefined();
      expect(t.env?.KUBERNETES_SERVICE_PORT).toBeUndefined();
      expect(t.env?.KUBE_CACHE_TTL).toBe("5.0");
    }
    const said = warnings.filter((w) => w.message.includes("KUBERNETES_SERVICE_HOST"));
    expect(said).toEqual([
      {
        path: "spec.edgeWorker[0].template.spec.containers[0].env",
        message: expect.stringMatching(
          /^KUBERNETES_SERVICE_HOST, KUBERNETES_SERVICE_PORT: levee points each worker at its own node's agent.*\(also in 2 more places\)$/,
        ),
      },
    ]);
    expect(warnings.some((w) => w.path.endsWith("serviceAccountName"))).toBe(false);
  });

  test("the deprecated serviceAccount alone names the account; with another serviceAccountName it is ignored", () => {
    const alias = translate(
      jmes({ edgeWorker: [worker("edge1", [container()], {}, { serviceAccount: "old" })] }),
    );
    expect(resolved(alias.service, 0).kubeApi).toEqual({ serviceAccount: "old" });
    const both = translate(
      jmes({
        edgeWorker: [
          worker("edge1", [container()], {}, { serviceAccountName: "new", serviceAccount: "old" }),
        ],
      }),
    );
    expect(resolved(both.service, 0).kubeApi).toEqual({ serviceAccount: "new" });
    expect(both.warnings.find((w) => w.path.endsWith("spec.serviceAccount"))?.message).toMatch(
      /deprecated alias/,
    );
  });

  test("automountServiceAccountToken: false is no API access; Dayu's variables are then kept", () => {
    const { service, warnings } = translate(
      jmes({
        edgeWorker: [
          worker(
            "edge1",
            [container("img:1", { env: DAYU_ENV })],
            {},
            { serviceAccountName: "worker-admin", automountServiceAccountToken: false },
          ),
        ],
      }),
    );
    const t = resolved(service, 0);
    expect(t.kubeApi).toBeUndefined();
    expect(t.env?.KUBERNETES_SERVICE_HOST).toBe("192.168.1.10");
    expect(warnings.find((w) => w.message.includes("KUBERNETES_SERVICE_HOST"))?.message).toMatch(
      /without a serviceAccountName: the worker gets no token/,
    );
    expect(warnings.some((w) => w.path.endsWith("automountServiceAccountToken"))).toBe(false);
  });

  test("no service account: no API access, as a pod of Dayu's never is; a lone automount true is said", () => {
    const none = translate(jmes({ edgeWorker: [worker("edge1")] }));
    expect(resolved(none.service, 0).kubeApi).toBeUndefined();
    expect(none.warnings).toEqual([]);
    const lone = translate(
      jmes({ edgeWorker: [worker("edge1", [container()], {}, { automountServiceAccountToken: true })] }),
    );
    expect(resolved(lone.service, 0).kubeApi).toBeUndefined();
    expect(lone.warnings[0]?.path).toBe("spec.edgeWorker[0].template.spec.automountServiceAccountToken");
  });

  test("an account name levee cannot take is refused, naming the field", () => {
    expectIssue(
      jmes({ edgeWorker: [worker("edge1", [container()], {}, { serviceAccountName: "sa.with.dots" })] }),
      "spec.edgeWorker[0].template.spec.serviceAccountName",
      /DNS label/,
    );
    expectIssue(
      jmes({ edgeWorker: [worker("edge1", [container()], {}, { serviceAccountName: 7 })] }),
      "spec.edgeWorker[0].template.spec.serviceAccountName",
      /string/,
    );
  });

  test("a RuntimeService's pod maps the same way", () => {
    const { service } = translate(
      runtimeService({
        podTemplate: {
          spec: {
            serviceAccountName: "worker-admin",
            containers: [container("img:1", { env: DAYU_ENV })],
          },
        },
      }),
    );
    const t = resolved(service, 0);
    expect(t.kubeApi).toEqual({ serviceAccount: "worker-admin" });
    expect(t.env?.KUBERNETES_SERVICE_HOST).toBeUndefined();
  });
});
