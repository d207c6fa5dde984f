// JSON Schema export: valid, serialisable, and a sample manifest satisfies it (checked by a tiny
// validator of the keywords that matter here: type, required, properties, additionalProperties,
// const, enum, anyOf, items, minimum/maximum; no validator dependency).
import { describe, expect, test } from "bun:test";
import { jsonSchemaFor } from "../../src/manifest/json-schema.ts";
import { kindList } from "../../src/manifest/kinds.ts";
import { ISSUE_EXAMPLE } from "./helpers.ts";

type Schema = Record<string, unknown>;

/** Paths where `value` violates `schema` (empty: it conforms, as far as this tiny check goes). */
function violations(schema: Schema, value: unknown, path = ""): string[] {
  if (Array.isArray(schema.anyOf)) {
    const options = schema.anyOf as Schema[];
    return options.some((option) => violations(option, value, path).length === 0) ? [] : [`${path}: anyOf`];
  }
  if ("const" in schema && schema.const !== value) return [`${path}: const`];
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) return [`${path}: enum`];
  const type = schema.type;
  if (type === "object") {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return [`${path}: object`];
    const record = value as Record<string, unknown>;
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    const out: string[] = [];
    for (const key of (schema.required ?? []) as string[])
      if (!(key in record)) out.push(`${path}.${key}: required`);
    for (const [key, v] of Object.entries(record)) {
      const sub = properties[key] ?? schema.additionalProperties;
      if (sub === false) out.push(`${path}.${key}: additional`);
      else if (sub && typeof sub === "object") out.push(...violations(sub as Schema, v, `${path}.${key}`));
    }
    return out;
  }
  if (type === "array") {
    if (!Array.isArray(value)) return [`${path}: array`];
    return value.flatMap((v, i) => violations((schema.items ?? {}) as Schema, v, `${path}[${i}]`));
  }
  if (type === "string" && typeof value !== "string") return [`${path}: string`];
  if (type === "boolean" && typeof value !== "boolean") return [`${path}: boolean`];
  if (type === "integer" && !Number.isInteger(value)) return [`${path}: integer`];
  if (type === "number" && typeof value !== "number") return [`${path}: number`];
  if (typeof value === "number") {
    if (typeof schema.minimum === "number" && value < schema.minimum) return [`${path}: minimum`];
    if (typeof schema.maximum === "number" && value > schema.maximum) return [`${path}: maximum`];
  }
  return [];
}

describe("jsonSchemaFor", () => {
  test("every kind has a serialisable draft 2020-12 schema with $id and title", () => {
    for (const info of kindList) {
      const schema = jsonSchemaFor(info.kind);
      const again = JSON.parse(JSON.stringify(schema)) as Schema;
      expect(again).toEqual(schema);
      expect(schema.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
      expect(schema.$id).toBe(`urn:levee:schema:levee:v1:${info.kind}`);
      expect(schema.title).toBe(`levee/v1 ${info.kind}`);
      expect(schema.type).toBe("object");
      expect(schema.additionalProperties).toBe(false);
      expect(jsonSchemaFor(info.plural)).toEqual(schema);
    }
  });

  test("Service: spec is described, defaults are optional (input mode)", () => {
    const schema = jsonSchemaFor("Service");
    const properties = schema.properties as Record<string, Schema>;
    expect(properties.spec).toBeDefined();
    expect(schema.required).toEqual(["apiVersion", "kind", "metadata", "spec"]);
    const spec = properties.spec as Schema;
    expect(spec.required).toEqual(["workers"]);
    const template = (spec.properties as Record<string, Schema>).template as Schema;
    expect(template.required ?? []).toEqual([]);
    expect((template.properties as Record<string, Schema>).driver).toMatchObject({ default: "exec" });
  });

  test("the issue's example satisfies the Service schema; mistakes do not", () => {
    const schema = jsonSchemaFor("Service");
    const example = Bun.YAML.parse(ISSUE_EXAMPLE) as Record<string, unknown>;
    expect(violations(schema, example)).toEqual([]);
    expect(violations(schema, { ...example, spec: undefined })).toContain(".spec: object");
    const { spec } = example as { spec: { workers: Record<string, unknown>[] } };
    const typo = { ...example, spec: { ...spec, workers: [{ node: "edge1", replica: 2 }] } };
    expect(violations(schema, typo)).toEqual([".spec.workers[0].replica: additional"]);
    const badPort = { ...example, spec: { ...spec, mesh: { port: 70000 } } };
    expect(violations(schema, badPort)).toEqual([".spec.mesh.port: maximum"]);
  });

  test("Config and Node samples satisfy their schemas", () => {
    const config = {
      apiVersion: "levee/v1",
      kind: "Config",
      metadata: { name: "c" },
      data: { "a.txt": "x" },
    };
    expect(violations(jsonSchemaFor("Config"), config)).toEqual([]);
    const node = {
      apiVersion: "levee/v1",
      kind: "Node",
      metadata: { name: "edge1", labels: { role: "camera" } },
    };
    expect(violations(jsonSchemaFor("Node"), node)).toEqual([]);
    expect(violations(jsonSchemaFor("Node"), { ...node, kind: "Service" })).toEqual([".kind: const"]);
  });

  test("an unknown kind throws", () => {
    expect(() => jsonSchemaFor("Pod")).toThrow(/unknown kind "Pod"/);
  });
});
