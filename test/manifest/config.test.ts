// Config, Node and artifact references.
import { describe, expect, test } from "bun:test";
import { artifactRefSchema } from "../../src/manifest/artifact.ts";
import { CONFIG_SIZE_LIMIT, configFile, configSize } from "../../src/manifest/config.ts";
import { expectOneIssue, issuesOf, objectsOf } from "./helpers.ts";

const config = (fields: Record<string, unknown>) =>
  JSON.stringify({ apiVersion: "levee/v1", kind: "Config", metadata: { name: "app-config" }, ...fields });

describe("Config", () => {
  test("text and binary files", () => {
    const [object] = objectsOf(
      config({ data: { "app.yaml": "a: 1\n", "ünï.txt": "héllo" }, binaryData: { "logo.bin": "AAEC/w==" } }),
    );
    if (object?.kind !== "Config") throw new Error("expected a Config");
    expect(configSize(object)).toBe(5 + 6 + 4);
    expect([...(configFile(object, "logo.bin") ?? [])]).toEqual([0, 1, 2, 255]);
    expect(new TextDecoder().decode(configFile(object, "ünï.txt"))).toBe("héllo");
    expect(configFile(object, "missing")).toBeUndefined();
  });

  test("a file name with '/' (and other bad names)", () => {
    expectOneIssue(
      config({ data: { "etc/app.yaml": "x" } }),
      'data["etc/app.yaml"]',
      /must not contain '\/'/,
    );
    expectOneIssue(config({ binaryData: { "..": "" } }), 'binaryData[".."]', /must not be "\.\."/);
    expectOneIssue(config({ data: { ["x".repeat(254)]: "" } }), `data.${"x".repeat(254)}`, /at most 253/);
  });

  test("too large", () => {
    const big = "x".repeat(CONFIG_SIZE_LIMIT);
    expectOneIssue(
      config({ data: { a: big, b: "y" } }),
      "data",
      /add up to 1\.00 MiB \(1048577 bytes\); a Config holds at most 1 MiB/,
    );
    const issues = issuesOf(config({ data: { a: big }, binaryData: { b: "AAAA" } }));
    expect(issues.map((i) => i.path)).toEqual([""]);
    objectsOf(config({ data: { a: big } })); // exactly 1 MiB is fine
  });

  test("the same file in data and binaryData", () => {
    expectOneIssue(
      config({ data: { a: "x" }, binaryData: { a: "eA==" } }),
      "binaryData.a",
      /in both data and binaryData/,
    );
  });

  test("binaryData must be base64; data must be text", () => {
    expectOneIssue(config({ binaryData: { a: "not base64!" } }), "binaryData.a", /expected base64/);
    expectOneIssue(
      "apiVersion: levee/v1\nkind: Config\nmetadata: {name: c}\ndata: {port: 80}\n",
      "data.port",
      /quote it/,
    );
    expectOneIssue(config({ data: { a: "\ud800" } }), "data.a", /not valid UTF-8/);
  });
});

describe("Node", () => {
  test("only metadata; labels are validated", () => {
    const [node] = objectsOf(
      "apiVersion: levee/v1\nkind: Node\nmetadata: {name: edge1, labels: {role: camera}}\n",
    );
    expect(node).toEqual({
      apiVersion: "levee/v1",
      kind: "Node",
      metadata: { name: "edge1", labels: { role: "camera" } },
    });
    expectOneIssue(
      "apiVersion: levee/v1\nkind: Node\nmetadata: {name: edge1}\nspec: {unschedulable: true}\n",
      "spec",
      /unknown field "spec"/,
    );
    expectOneIssue(
      "apiVersion: levee/v1\nkind: Node\nmetadata: {name: edge1, labels: {role: -camera}}\n",
      "metadata.labels.role",
      /label value "-camera"/,
    );
    expectOneIssue(
      'apiVersion: levee/v1\nkind: Node\nmetadata: {name: edge1, labels: {"Example.com/role": x}}\n',
      'metadata.labels["Example.com/role"]',
      /prefix before '\/' must be a DNS subdomain/,
    );
  });
});

describe("names: a Node's is a node name (DNS subdomain), every other object's a DNS label", () => {
  test("a Node may be called cloud.kubeedge; a Config may not", () => {
    const [node] = objectsOf("apiVersion: levee/v1\nkind: Node\nmetadata: {name: cloud.kubeedge}\n");
    expect(node?.metadata.name).toBe("cloud.kubeedge");
    expectOneIssue(
      "apiVersion: levee/v1\nkind: Node\nmetadata: {name: cloud..kubeedge}\n",
      "metadata.name",
      /must be a DNS subdomain/,
    );
    expectOneIssue(
      `apiVersion: levee/v1\nkind: Node\nmetadata: {name: ${"a".repeat(250)}.bcd}\n`,
      "metadata.name",
      /at most 253 characters/,
    );
    expectOneIssue(
      "apiVersion: levee/v1\nkind: Config\nmetadata: {name: app.config}\ndata: {}\n",
      "metadata.name",
      /must be a DNS label/,
    );
  });
});

describe("artifact reference", () => {
  test("sha256 is 64 lower-case hex digits", () => {
    expect(artifactRefSchema.safeParse({ sha256: "a".repeat(64), name: "yolo.onnx", size: 10 }).success).toBe(
      true,
    );
    expect(artifactRefSchema.safeParse({ sha256: "A".repeat(64) }).success).toBe(false);
    expect(artifactRefSchema.safeParse({ sha256: "a".repeat(63) }).success).toBe(false);
    expect(artifactRefSchema.safeParse({ sha256: "a".repeat(64), url: "x" }).success).toBe(false);
  });
});
