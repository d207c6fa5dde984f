// ServiceAccounts and ClusterRoleBindings as dayu.sh makes them, and what a binding means in levee:
// cluster-admin (admin, edit) for a service account is every verb in that account's own namespace.
import { afterAll, expect, test } from "bun:test";
import { RbacObjects } from "../../../src/cloud/kube/rbac-objects.ts";
import { inProcessCloud } from "../../harness/cloud-api.ts";

const { store } = inProcessCloud();
afterAll(() => store.close());
const rbac = new RbacObjects(store);

const binding = (role: string, subjects: unknown[]) => ({
  apiVersion: "rbac.authorization.k8s.io/v1",
  kind: "ClusterRoleBinding",
  metadata: { name: `bind-${role}` },
  roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role },
  subjects,
});

test("a service account is kept in its namespace; twice is AlreadyExists", () => {
  const sa = rbac.create("serviceaccounts", "dayu", {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: "worker-admin" },
  });
  expect(sa.metadata).toMatchObject({ name: "worker-admin", namespace: "dayu" });
  expect(() => rbac.create("serviceaccounts", "dayu", { metadata: { name: "worker-admin" } })).toThrow(
    /already exists/,
  );
  expect(rbac.list("serviceaccounts", "dayu").map((o) => o.metadata.name)).toEqual(["worker-admin"]);
  expect(rbac.list("serviceaccounts", "other")).toEqual([]);
});

test("cluster-admin for a service account: every verb, in its namespace; view: nothing more", () => {
  rbac.create(
    "clusterrolebindings",
    undefined,
    binding("cluster-admin", [{ kind: "ServiceAccount", name: "worker-admin", namespace: "dayu" }]),
  );
  rbac.create(
    "clusterrolebindings",
    undefined,
    binding("view", [{ kind: "ServiceAccount", name: "reader", namespace: "dayu" }]),
  );
  expect(rbac.grants("dayu", "worker-admin")).toEqual([{ verbs: ["*"], resources: ["*"] }]);
  expect(rbac.grants("dayu2", "worker-admin")).toEqual([]);
  expect(rbac.grants("dayu", "reader")).toEqual([]);
});

test("dayu.sh's JSON patches add and remove subjects", () => {
  const add = [
    {
      op: "add",
      path: "/subjects/-",
      value: { kind: "ServiceAccount", name: "worker-admin", namespace: "dayu2" },
    },
  ];
  rbac.patch("clusterrolebindings", undefined, "bind-cluster-admin", add, "json");
  expect(rbac.grants("dayu2", "worker-admin")).toHaveLength(1);
  rbac.patch(
    "clusterrolebindings",
    undefined,
    "bind-cluster-admin",
    [{ op: "remove", path: "/subjects/0" }],
    "json",
  );
  expect(rbac.grants("dayu", "worker-admin")).toEqual([]);
  rbac.delete("clusterrolebindings", undefined, "bind-cluster-admin");
  expect(rbac.grants("dayu2", "worker-admin")).toEqual([]);
  expect(() => rbac.delete("clusterrolebindings", undefined, "bind-cluster-admin")).toThrow(/not found/);
});

test("a binding without roleRef, or a bad name, is Invalid naming the field", () => {
  expect(() => rbac.create("clusterrolebindings", undefined, { metadata: { name: "x" } })).toThrow(
    /roleRef.name: Required value/,
  );
  expect(() => rbac.create("serviceaccounts", "dayu", { metadata: { name: "Bad_Name" } })).toThrow(
    /metadata.name/,
  );
});
