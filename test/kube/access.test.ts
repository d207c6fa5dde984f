// Who may do what through the Kubernetes API: the admin everything; a worker reads its namespace,
// nodes, CRDs and default/kubernetes, writes only by Grant and only in its namespace; a refusal is
// a Forbidden naming user, verb, resource and namespace.
import { describe, expect, test } from "bun:test";
import { authorize, type KubeCaller, type Request } from "../../src/kube/access.ts";
import { KubeError } from "../../src/kube/status.ts";

const worker: KubeCaller = {
  kind: "worker",
  namespace: "dayu",
  serviceAccount: "worker-admin",
  service: "backend.dayu",
  node: "cloud",
  index: 0,
};
const req = (
  verb: Request["verb"],
  resource: string,
  namespace?: string,
  name?: string,
  group = "",
): Request => ({
  verb,
  resource,
  group,
  namespace,
  ...(name ? { name } : {}),
});
const allowed = (
  caller: KubeCaller,
  r: Request,
  grants = [] as { verbs: string[]; resources: string[] }[],
) => {
  try {
    authorize(caller, r, grants);
    return true;
  } catch (err) {
    if (err instanceof KubeError && err.reason === "Forbidden") return false;
    throw err;
  }
};

describe("a worker by default", () => {
  test("reads its namespace, nodes, CRDs, its namespace object and default/kubernetes", () => {
    expect(allowed(worker, req("list", "pods", "dayu"))).toBe(true);
    expect(allowed(worker, req("watch", "services", "dayu"))).toBe(true);
    expect(allowed(worker, req("list", "nodes"))).toBe(true);
    expect(
      allowed(worker, req("list", "customresourcedefinitions", undefined, undefined, "apiextensions.k8s.io")),
    ).toBe(true);
    expect(allowed(worker, req("get", "namespaces", undefined, "dayu"))).toBe(true);
    expect(allowed(worker, req("get", "endpoints", "default", "kubernetes"))).toBe(true);
  });

  test("reads nothing else and writes nothing", () => {
    expect(allowed(worker, req("list", "pods", "other"))).toBe(false);
    expect(allowed(worker, req("list", "pods"))).toBe(false);
    expect(allowed(worker, req("get", "endpoints", "default", "other"))).toBe(false);
    expect(allowed(worker, req("list", "namespaces"))).toBe(false);
    expect(allowed(worker, req("delete", "pods", "dayu", "p"))).toBe(false);
    expect(allowed(worker, req("create", "jointmultiedgeservices", "dayu", undefined, "sedna.io"))).toBe(
      false,
    );
  });

  test("the refusal reads as Kubernetes words it, and says how to allow it", () => {
    expect(() =>
      authorize(worker, req("create", "jointmultiedgeservices", "dayu", undefined, "sedna.io"), []),
    ).toThrow(
      'jointmultiedgeservices.sedna.io is forbidden: User "system:serviceaccount:dayu:worker-admin" cannot create resource "jointmultiedgeservices" in API group "sedna.io" in the namespace "dayu" (a levee Grant in namespace dayu for service account worker-admin can allow it)',
    );
  });
});

describe("a Grant", () => {
  const grant = [{ verbs: ["create", "delete"], resources: ["jointmultiedgeservices", "pods"] }];

  test("allows its verbs on its resources in the worker's namespace only", () => {
    expect(allowed(worker, req("create", "jointmultiedgeservices", "dayu"), grant)).toBe(true);
    expect(allowed(worker, req("delete", "pods", "dayu", "p"), grant)).toBe(true);
    expect(allowed(worker, req("update", "jointmultiedgeservices", "dayu", "x"), grant)).toBe(false);
    expect(allowed(worker, req("create", "jointmultiedgeservices", "other"), grant)).toBe(false);
    expect(
      allowed(worker, req("delete", "namespaces", undefined, "dayu"), [{ verbs: ["*"], resources: ["*"] }]),
    ).toBe(false);
  });
});

test("the admin may do anything", () => {
  expect(allowed({ kind: "admin" }, req("delete", "namespaces", undefined, "dayu"))).toBe(true);
});
