// parseManifests: reading YAML and JSON bodies, and the mistakes that concern whole documents
// (syntax, unknown kinds, duplicates, empty bodies).
import { describe, expect, test } from "bun:test";
import { kindInfo, kinds, parseManifests, specOf } from "../../src/manifest/manifest.ts";
import { ISSUE_EXAMPLE, issuesOf, objectsOf } from "./helpers.ts";

const NODE = (name: string) => ({ apiVersion: "levee/v1", kind: "Node", metadata: { name } });

describe("valid manifests", () => {
  test("the issue's example parses, with defaults filled in", () => {
    const [service] = objectsOf(ISSUE_EXAMPLE);
    if (service?.kind !== "Service") throw new Error("expected a Service");
    expect(service.metadata).toEqual({ name: "echo", labels: { app: "demo" } });
    expect(service.spec.template.command).toEqual(["node", "server.js"]);
    expect(service.spec.template.env).toEqual({ GREETING: "hello" });
    expect(service.spec.template.port).toBe("auto");
    expect(service.spec.template.health).toMatchObject({
      http: "/health",
      interval: "10s",
      failureThreshold: 3,
    });
    expect(service.spec.template.restart).toEqual({
      policy: "always",
      backoff: { initial: "1s", max: "5m" },
    });
    expect(service.spec.workers).toEqual([
      { node: "edge1", replicas: 2 },
      { nodeSelector: { role: "camera" }, replicas: 1, template: { env: { MODE: "fast" } } },
    ]);
    expect(service.spec.mesh).toEqual({
      port: 19100,
      protocol: "http",
      balance: "round-robin",
      fallback: "none",
    });
    expect(service.spec.lostAfter).toBe("never");
  });

  test("JSON gives the same objects as YAML", () => {
    const fromYaml = objectsOf(ISSUE_EXAMPLE);
    const json = JSON.stringify(Bun.YAML.parse(ISSUE_EXAMPLE));
    expect(objectsOf(json, "application/json")).toEqual(fromYaml);
    expect(objectsOf(json)).toEqual(fromYaml); // sniffed
    expect(objectsOf(json, "application/yaml")).toEqual(fromYaml); // JSON is YAML too
  });

  test("multi-document YAML, empty documents and comments are skipped", () => {
    const body = `# nodes\n---\n${ISSUE_EXAMPLE}---\n# nothing here\n---\napiVersion: levee/v1\nkind: Node\nmetadata: {name: edge1}\n---\n`;
    expect(objectsOf(body).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      "Service/echo",
      "Node/edge1",
    ]);
  });

  test("JSON arrays and Lists hold several objects", () => {
    const array = JSON.stringify([NODE("a"), NODE("b")]);
    expect(objectsOf(array, "application/json").map((o) => o.metadata.name)).toEqual(["a", "b"]);
    const list = JSON.stringify({ apiVersion: "v1", kind: "List", items: [NODE("c"), NODE("d")] });
    expect(objectsOf(list).map((o) => o.metadata.name)).toEqual(["c", "d"]);
  });

  test("system fields are accepted; only resourceVersion is kept; status is dropped", () => {
    const [node] = objectsOf(`apiVersion: levee/v1
kind: Node
metadata:
  name: edge1
  labels: {role: camera, "example.com/zone": a-1}
  uid: 0b9f
  generation: 4
  resourceVersion: "42"
  creationTimestamp: "2026-11-25T15:00:00Z"
status: {phase: Ready}
`);
    expect(node).toEqual({
      apiVersion: "levee/v1",
      kind: "Node",
      metadata: {
        name: "edge1",
        labels: { role: "camera", "example.com/zone": "a-1" },
        resourceVersion: "42",
      },
    });
  });
});

describe("system fields and specOf", () => {
  test("resourceVersion may be sent as a number or a string; it is kept as a decimal string", () => {
    const node = (rv: string) =>
      `apiVersion: levee/v1\nkind: Node\nmetadata: {name: a, resourceVersion: ${rv}}\n`;
    expect(objectsOf(node("42"))[0]?.metadata.resourceVersion).toBe("42");
    expect(objectsOf(node('"42"'))[0]?.metadata.resourceVersion).toBe("42");
    const [issue] = issuesOf(node("latest"));
    expect(issue).toMatchObject({ path: "metadata.resourceVersion" });
    expect(issue?.message).toMatch(/expected a resourceVersion/);
  });

  test("specOf: what the store keeps as the spec of each kind", () => {
    const [service, config, node] = objectsOf(`${ISSUE_EXAMPLE}---
apiVersion: levee/v1
kind: Config
metadata: {name: c}
data: {a.txt: x}
---
apiVersion: levee/v1
kind: Node
metadata: {name: n}
`);
    if (service?.kind !== "Service" || !config || !node) throw new Error("three objects expected");
    expect(specOf(service)).toBe(service.spec);
    expect(specOf(config)).toEqual({ data: { "a.txt": "x" }, binaryData: {} });
    expect(specOf(node)).toEqual({});
  });
});

describe("document mistakes", () => {
  test("a YAML syntax error names its line and column; other documents are still checked", () => {
    const issues = issuesOf(`apiVersion: levee/v1
kind: Node
metadata: {name: ok}
---
apiVersion: levee/v1
kind: Node
metadata:
  name: a
 labels: {}
---
apiVersion: levee/v1
kind: Nod
metadata: {name: b}
`);
    expect(issues).toHaveLength(2);
    expect(issues[0]).toMatchObject({ document: 1, path: "" });
    expect(issues[0]?.message).toMatch(
      /^YAML syntax error at line 9, column 1: All mapping items must start at the same column/,
    );
    expect(issues[1]).toMatchObject({ document: 2, kind: "Nod", name: "b", path: "kind" });
  });

  test("a duplicate key is a YAML error, not a silent overwrite", () => {
    const [issue] = issuesOf("apiVersion: levee/v1\nkind: Node\nmetadata: {name: a}\nkind: Node\n");
    expect(issue?.message).toMatch(/line 4, column 1: Map keys must be unique/);
  });

  test("invalid JSON with a JSON content type", () => {
    const [issue] = issuesOf('{"apiVersion": "levee/v1",', "application/json");
    expect(issue).toMatchObject({ document: 0, path: "" });
    expect(issue?.message).toMatch(/^JSON syntax error/);
  });

  test("a Service without a spec, or with a spec that is no object, is an issue at spec (not a crash)", () => {
    for (const spec of ["", "\nspec: 3\n", "\nspec: null\n"]) {
      const issues = issuesOf(`apiVersion: levee/v1\nkind: Service\nmetadata: {name: a}${spec}`);
      expect(issues.map((i) => i.path)).toEqual(["spec"]);
    }
  });

  test("an unknown kind lists the known ones", () => {
    const [issue] = issuesOf("apiVersion: levee/v1\nkind: Deployment\nmetadata: {name: a}\n");
    expect(issue).toMatchObject({ document: 0, kind: "Deployment", name: "a", path: "kind" });
    expect(issue?.message).toBe(
      'unknown kind "Deployment": known kinds are Service (levee/v1), Config (levee/v1), Secret (levee/v1), Node (levee/v1), ' +
        "ImageMap (levee/v1), Namespace (levee/v1), Grant (levee/v1), JointMultiEdgeService (sedna.io/v1alpha1), RuntimeService (sedna.io/v1alpha1)",
    );
    const [lower] = issuesOf("apiVersion: levee/v1\nkind: service\nmetadata: {name: a}\n");
    expect(lower?.message).toMatch(/did you mean "Service"\?/);
  });

  test("an unknown or missing apiVersion is named", () => {
    const [issue] = issuesOf("apiVersion: apps/v1\nkind: Service\nmetadata: {name: a}\n");
    expect(issue).toMatchObject({ path: "apiVersion" });
    expect(issue?.message).toBe('unknown apiVersion "apps/v1" for kind Service: expected "levee/v1"');
    const issues = issuesOf("metadata: {name: a}\n");
    expect(issues.map((i) => i.path)).toEqual(["kind", "apiVersion"]);
  });

  test("the same object twice in one body", () => {
    const issues = issuesOf(JSON.stringify([NODE("a"), NODE("b"), NODE("a")]));
    expect(issues).toEqual([
      {
        document: 2,
        kind: "Node",
        name: "a",
        path: "metadata.name",
        message: 'Node "a" is also defined in document 0: each object may appear once',
      },
    ]);
    // The same name in two kinds is fine.
    objectsOf(`${JSON.stringify(NODE("a"))}\n---\napiVersion: levee/v1\nkind: Config\nmetadata: {name: a}\n`);
  });

  test("an empty body, or one with only comments", () => {
    for (const body of ["", "  \n", "# nothing\n---\n"]) {
      const issues = issuesOf(body);
      expect(issues).toHaveLength(1);
      expect(issues[0]?.message).toMatch(/no objects/);
    }
  });

  test("a document that is not an object", () => {
    const [issue] = issuesOf("just a string\n");
    expect(issue).toMatchObject({ document: 0, path: "" });
    expect(issue?.message).toMatch(
      /expected an object with apiVersion, kind and metadata, got "just a string"/,
    );
  });

  test("every mistake of every document is reported", () => {
    const issues = issuesOf(`apiVersion: levee/v1
kind: Node
metadata: {name: A, colour: red}
---
apiVersion: levee/v1
kind: Config
metadata: {name: c}
data: {"a/b": x}
`);
    expect(issues.map((i) => `${i.document} ${i.path}`)).toEqual([
      "0 metadata.name",
      "0 metadata.colour",
      '1 data["a/b"]',
    ]);
  });
});

describe("kinds registry", () => {
  test("lookup by kind or plural", () => {
    expect(kindInfo("Service")?.plural).toBe("services");
    expect(kindInfo("services")?.kind).toBe("Service");
    expect(kindInfo("config")?.kind).toBe("Config");
    expect(kindInfo("nodes")).toBe(kinds.Node);
    expect(kindInfo("pods")).toBeUndefined();
  });

  test("a kind's schema validates a single object", () => {
    const parsed = kinds.Node.schema.safeParse(NODE("edge1"));
    expect(parsed.success).toBe(true);
  });

  test("parseManifests leaves the caller's text alone (pure)", () => {
    const body = ISSUE_EXAMPLE;
    parseManifests(body);
    expect(body).toBe(ISSUE_EXAMPLE);
  });
});

describe("__proto__ keys", () => {
  test("are refused, not silently dropped", () => {
    const env =
      '{"apiVersion":"levee/v1","kind":"Service","metadata":{"name":"a"},"spec":{"template":{"command":["x"],"env":{"__proto__":"x"}},"workers":[{"node":"n"}]}}';
    expect(issuesOf(env).map((i) => [i.path, i.message])).toEqual([
      ["spec.template.env.__proto__", 'the key "__proto__" is not allowed'],
    ]);
    const meta = issuesOf('{"apiVersion":"levee/v1","kind":"Node","metadata":{"name":"a","__proto__":{}}}');
    expect(meta.map((i) => i.path)).toEqual(["metadata.__proto__"]);
  });
});
