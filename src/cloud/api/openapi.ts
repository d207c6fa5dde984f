// The cloud API's OpenAPI 3.1 document (GET /api/v1/openapi.json), built from the routes' own
// descriptions (route-registry.ts): the paths and methods the app serves, who may call each, and
// the JSON Schemas of queries and bodies generated from the zod schemas the routes validate with
// (z.toJSONSchema, draft 2020-12, which OpenAPI 3.1 uses as is), so the document cannot drift.
import { z } from "zod";
import { SESSION_COOKIE } from "../dashboard/sessions.ts";
import { apiErrorBodySchema } from "./errors.ts";
import type { Auth, BodySpec, DocumentedRoute, ResponseSpec } from "./route-registry.ts";

export type JsonObject = Record<string, unknown>;

export interface DocumentInfo {
  version: string;
  /** The groups routes are listed under, in order, with what they are. */
  tags: readonly { name: string; description: string }[];
}

const SECURITY: Record<Auth, JsonObject[]> = {
  admin: [{ adminToken: [] }],
  node: [{ nodeCredentials: [] }],
  "admin-or-node": [{ adminToken: [] }, { nodeCredentials: [] }],
  session: [{ dashboardSession: [] }],
  none: [],
};

const ERROR_REF = { $ref: "#/components/responses/Error" };

/** The document for `routes`. */
export function openApiDocument(routes: readonly DocumentedRoute[], info: DocumentInfo): JsonObject {
  const paths: Record<string, JsonObject> = {};
  for (const route of routes) {
    const path = openApiPath(route.fullPath);
    paths[path] ??= {};
    paths[path][route.method] = operation(route);
  }
  return {
    openapi: "3.1.1",
    info: {
      title: "levee cloud API",
      version: info.version,
      description:
        "The API of `levee cloud`: what `levee ctl` and the nodes call. Errors are JSON `{error, issues?}`; a method a path does not serve is a 405 with `Allow`.",
      license: { name: "Apache-2.0", identifier: "Apache-2.0" },
    },
    tags: info.tags,
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
    components: {
      securitySchemes: {
        adminToken: {
          type: "http",
          scheme: "bearer",
          description: "The admin token (<data-dir>/admin.token on the cloud).",
        },
        nodeCredentials: {
          type: "http",
          scheme: "basic",
          description: "A node's MQTT credentials (user = the node's name), as the join gave them.",
        },
        dashboardSession: {
          type: "apiKey",
          in: "cookie",
          name: SESSION_COOKIE,
          description:
            "A web dashboard session: the cookie the login form (POST /ui/login, the admin token in its `token` field) sets; HttpOnly, SameSite=Strict.",
        },
      },
      schemas: { Error: jsonSchemaOf(apiErrorBodySchema, "output") },
      responses: {
        Error: {
          description: "A refusal or an error: what was wrong and, for bad input, where (issues).",
          content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
        },
      },
    },
  };
}

/** A hono path pattern as an OpenAPI path: `/nodes/:name` → `/nodes/{name}`. */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, "{$1}");
}

/** The names of a hono path pattern's parameters, in order. */
export function pathParams(path: string): string[] {
  return [...path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1] ?? "");
}

function operation(route: DocumentedRoute): JsonObject {
  const params = pathParams(route.fullPath).map((name) => ({
    name,
    in: "path",
    required: true,
    schema: { type: "string" },
    ...(route.params?.[name] ? { description: route.params[name] } : {}),
  }));
  const query = route.query ? queryParams(route.query) : [];
  const parameters = [...params, ...query];
  const responses: JsonObject = {};
  for (const [status, spec] of Object.entries(route.responses)) responses[status] = response(spec);
  if (route.auth !== "none") responses["401"] ??= ERROR_REF;
  if (parameters.length > 0 || route.body) responses["400"] ??= ERROR_REF;
  responses.default = ERROR_REF;
  return {
    operationId: operationId(route),
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    tags: [route.tag],
    security: SECURITY[route.auth],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(route.body ? { requestBody: { required: true, ...body(route.body) } } : {}),
    responses,
  };
}

/** `get /api/v1/nodes/:name` → `getNodesByName`. */
function operationId(route: DocumentedRoute): string {
  const words = route.fullPath
    .replace(/^\/api\/v1/, "")
    .split(/[/\-.]/)
    .filter((w) => w !== "")
    .map((w) => (w.startsWith(":") ? `By${capital(w.slice(1))}` : capital(w)));
  return route.method + words.join("");
}

const capital = (w: string) => w.charAt(0).toUpperCase() + w.slice(1);

function queryParams(schema: z.ZodObject): JsonObject[] {
  const json = jsonSchemaOf(schema, "input");
  const properties = (json.properties ?? {}) as Record<string, JsonObject>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => {
    const { description, ...rest } = property;
    return {
      name,
      in: "query",
      required: required.has(name),
      schema: rest,
      ...(typeof description === "string" ? { description } : {}),
    };
  });
}

function body(spec: BodySpec): JsonObject {
  if ("json" in spec)
    return {
      ...(spec.description ? { description: spec.description } : {}),
      content: { "application/json": { schema: jsonSchemaOf(spec.json, "input") } },
    };
  const types = typeof spec.contentType === "string" ? [spec.contentType] : spec.contentType;
  const schema = spec.schema?.() ?? {};
  return {
    description: spec.description,
    content: Object.fromEntries(types.map((type) => [type, { schema }])),
  };
}

function response(spec: ResponseSpec): JsonObject {
  if (typeof spec === "string") return { description: spec };
  const headers = spec.headers
    ? Object.fromEntries(
        Object.entries(spec.headers).map(([name, description]) => [
          name,
          { description, schema: { type: "string" } },
        ]),
      )
    : undefined;
  const content = spec.body ? body(spec.body).content : undefined;
  return { description: spec.description, ...(headers ? { headers } : {}), ...(content ? { content } : {}) };
}

/**
 * The JSON Schema of a zod schema: `input` for what a client sends (fields with defaults are
 * optional), `output` for what the server answers. Checks zod cannot express are left out.
 */
export function jsonSchemaOf(schema: z.ZodType, io: "input" | "output"): JsonObject {
  const { $schema: _, ...json } = z.toJSONSchema(schema, {
    io,
    target: "draft-2020-12",
    unrepresentable: "any",
  }) as JsonObject;
  return json;
}
