// JSON Schema of each kind a manifest may hold (what `levee ctl schema KIND` prints): the native
// kinds and Dayu's, generated from the zod schemas in input mode: fields with defaults are
// optional, as a manifest author writes them. The cross-field rules (exactly one of
// node/nodeSelector, a command for exec, one health check) are in the output too
// (schema-rules.ts); what depends on stored state (a Dayu image's ImageMap) is left to the API.
import { z } from "zod";
import { dayuManifestKinds } from "./dayu/manifest-kinds.ts";
import { jmesSchema, runtimeServiceSchema } from "./dayu/sedna-schema.ts";
import { kindInfo, type ResourceKind } from "./kinds.ts";

export type JsonSchema = Record<string, unknown>;

/** Dayu's kinds: their schemas without the translation check (which the generator cannot see). */
const DAYU_SCHEMAS: Record<string, z.ZodType> = {
  JointMultiEdgeService: jmesSchema,
  RuntimeService: runtimeServiceSchema,
};

/** The JSON Schema (draft 2020-12) of a kind, by name or plural; throws on an unknown kind. */
export function jsonSchemaFor(kind: ResourceKind | string): JsonSchema {
  const info = kindInfo(kind) ?? dayuKind(kind);
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
    description: `A ${info.apiVersion === "levee/v1" ? "levee" : "Dayu"} ${info.kind} manifest (apiVersion ${info.apiVersion}).`,
    ...rest,
  };
}

/** A stable identifier for the schema of a kind. */
export function schemaId(info: { apiVersion: string; kind: string }): string {
  return `urn:levee:schema:${info.apiVersion.replace("/", ":")}:${info.kind}`;
}

function dayuKind(name: string): { apiVersion: string; kind: string; schema: z.ZodType } | undefined {
  const wanted = name.toLowerCase();
  const found = dayuManifestKinds.find(
    (k) => k.kind.toLowerCase() === wanted || `${k.kind.toLowerCase()}s` === wanted,
  );
  const schema = found && DAYU_SCHEMAS[found.kind];
  return found && schema ? { apiVersion: found.apiVersion, kind: found.kind, schema } : undefined;
}
