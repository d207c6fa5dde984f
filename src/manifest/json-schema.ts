// JSON Schema of each kind (what `levee ctl schema KIND` prints), generated from the zod schemas
// in input mode: fields with defaults are optional, as a manifest author writes them. Checks the
// generator cannot express (exactly one of node/nodeSelector, a command for exec, ...) are left
// to the API, which reports them with paths.
import { z } from "zod";
import { type KindInfo, kindInfo, type ResourceKind } from "./kinds.ts";

export type JsonSchema = Record<string, unknown>;

/** The JSON Schema (draft 2020-12) of a kind, by name or plural; throws on an unknown kind. */
export function jsonSchemaFor(kind: ResourceKind | string): JsonSchema {
  const info = kindInfo(kind);
  if (!info) throw new Error(`unknown kind ${JSON.stringify(kind)}`);
  const schema = z.toJSONSchema(info.schema, {
    io: "input",
    target: "draft-2020-12",
    unrepresentable: "any",
  });
  const { $schema, ...rest } = schema as JsonSchema;
  return {
    $schema,
    $id: schemaId(info),
    title: `${info.apiVersion} ${info.kind}`,
    description: `A levee ${info.kind} manifest (apiVersion ${info.apiVersion}).`,
    ...rest,
  };
}

/** A stable identifier for the schema of a kind. */
export function schemaId(info: Pick<KindInfo, "apiVersion" | "kind">): string {
  return `urn:levee:schema:${info.apiVersion.replace("/", ":")}:${info.kind}`;
}
