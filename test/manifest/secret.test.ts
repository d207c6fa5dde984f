// The Secret kind: base64 data and text stringData, a key in one of them only, 1 MiB in all; its
// values by key, its name in a plan, and the redacted form the API shows (keys and sizes).
import { describe, expect, test } from "bun:test";
import {
  redactSecret,
  secretFiles,
  secretOfPlanKey,
  secretPlanKey,
  secretValue,
} from "../../src/manifest/secret.ts";
import { expectOneIssue, objectsOf, serviceYaml } from "./helpers.ts";

const secret = (fields: Record<string, unknown>) =>
  JSON.stringify({ apiVersion: "levee/v1", kind: "Secret", metadata: { name: "db" }, ...fields });

describe("Secret", () => {
  test("data (base64) and stringData (text)", () => {
    const [object] = objectsOf(
      secret({ type: "Opaque", data: { key: "AAEC/w==" }, stringData: { password: "hünter2" } }),
    );
    if (object?.kind !== "Secret") throw new Error("expected a Secret");
    expect([...(secretValue(object, "key") ?? [])]).toEqual([0, 1, 2, 255]);
    expect(new TextDecoder().decode(secretValue(object, "password"))).toBe("hünter2");
    expect(secretValue(object, "missing")).toBeUndefined();
    expect(secretFiles(object)).toEqual({ data: { password: "hünter2" }, binaryData: { key: "AAEC/w==" } });
  });

  test("mistakes name the field", () => {
    expectOneIssue(secret({ data: { key: "not base64!" } }), "data.key", /expected base64/);
    expectOneIssue(
      secret({ data: { a: "AA==" }, stringData: { a: "x" } }),
      "data.a",
      /key "a" is in both stringData and data: keep one/,
    );
    expectOneIssue(secret({ stringData: { "a/b": "x" } }), 'stringData["a/b"]', /must not contain '\/'/);
    expectOneIssue(secret({ stringData: { a: "x".repeat(1024 * 1024 + 1) } }), "stringData", /at most 1 MiB/);
  });

  test("redacted: every key with its size, never a value", () => {
    const shown = redactSecret({
      type: "Opaque",
      data: { key: "AAEC/w==" },
      stringData: { password: "hunter2" },
    });
    expect(shown).toEqual({
      type: "Opaque",
      data: { key: "(redacted: 4 bytes)", password: "(redacted: 7 bytes)" },
    });
    expect(JSON.stringify(shown)).not.toContain("hunter2");
    expect(JSON.stringify(shown)).not.toContain("AAEC");
  });

  test("a Secret's name in a plan cannot be a Config's", () => {
    expect(secretPlanKey("db.prod")).toBe("secret:db.prod");
    expect(secretOfPlanKey("secret:db.prod")).toBe("db.prod");
    expect(secretOfPlanKey("db")).toBeUndefined();
  });

  test("secret mounts default to mode 0400; secretEnv names a Secret and key", () => {
    const [service] = objectsOf(
      serviceYaml(`
        template:
          command: [sh]
          secretEnv: {DB_PASSWORD: {secret: db, key: password}}
          mounts: [{secret: {name: db}, envName: SECRETS}]
        workers: [{node: edge-1}]
      `),
    );
    if (service?.kind !== "Service") throw new Error("expected a Service");
    expect(service.spec.template.mounts[0]?.secret).toEqual({ name: "db", mode: "0400" });
    expect(service.spec.template.secretEnv).toEqual({ DB_PASSWORD: { secret: "db", key: "password" } });
    expectOneIssue(
      serviceYaml(`
        template: {command: [sh], secretEnv: {X: {secret: db.other, key: k}}}
        workers: [{node: edge-1}]
      `),
      "spec.template.secretEnv.X.secret",
      /a Secret of the Service's own namespace/,
    );
    expectOneIssue(
      serviceYaml(`
        template: {command: [sh], mounts: [{secret: {name: db}, config: {name: c}, envName: S}]}
        workers: [{node: edge-1}]
      `),
      "spec.template.mounts[0]",
      /exactly one|only one|one of/,
    );
  });
});
