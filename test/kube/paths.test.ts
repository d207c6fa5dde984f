// Kubernetes API paths parsed into group, version, resource, namespace, name and subresource.
import { expect, test } from "bun:test";
import { parseKubePath } from "../../src/kube/paths.ts";

test.each([
  ["/api/v1/nodes", { group: "", version: "v1", resource: "nodes" }],
  ["/api/v1/nodes/edge.site-a", { group: "", version: "v1", resource: "nodes", name: "edge.site-a" }],
  ["/api/v1/namespaces/dayu", { group: "", version: "v1", resource: "namespaces", name: "dayu" }],
  ["/api/v1/namespaces/dayu/pods", { group: "", version: "v1", resource: "pods", namespace: "dayu" }],
  [
    "/apis/sedna.io/v1alpha1/namespaces/dayu/jointmultiedgeservices/x/status",
    {
      group: "sedna.io",
      version: "v1alpha1",
      resource: "jointmultiedgeservices",
      namespace: "dayu",
      name: "x",
      subresource: "status",
    },
  ],
  ["/apis/apps/v1/deployments", { group: "apps", version: "v1", resource: "deployments" }],
])("%s", (path, expected) => {
  expect(parseKubePath(path)).toEqual(expected);
});

test("paths that are none of these are undefined", () => {
  expect(parseKubePath("/api")).toBeUndefined();
  expect(parseKubePath("/apis/apps")).toBeUndefined();
  expect(parseKubePath("/api/v1/namespaces/a/pods/b/log/extra")).toBeUndefined();
  expect(parseKubePath("/api/v1/pods/..%2F..")).toBeUndefined();
});
