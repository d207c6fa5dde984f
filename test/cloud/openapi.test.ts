// The cloud API's OpenAPI document (GET /api/v1/openapi.json): it validates as OpenAPI 3.1, it
// lists exactly the routes the app serves (every served route documented, every documented route
// served), the security each operation declares is what the route enforces, its schemas are the
// zod schemas the routes validate with, and a method a path does not serve is a 405 with Allow.
import { afterAll, describe, expect, test } from "bun:test";
import { Validator } from "@seriousme/openapi-schema-validator";
import { jsonSchemaOf, openApiPath, pathParams } from "../../src/cloud/api/openapi.ts";
import { joinRequestSchema } from "../../src/cloud/api/routes-join.ts";
import { ADMIN_TOKEN, everyRouteCloud, registeredNode } from "../harness/cloud-api.ts";

const { app, store, logs } = everyRouteCloud();
afterAll(() => {
  logs.close();
  store.close();
});

type Operation = {
  security: Record<string, string[]>[];
  parameters?: { name: string; in: string; required: boolean; description?: string; schema: unknown }[];
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, unknown>;
  tags: string[];
};
type OpenApi = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  tags: { name: string }[];
};

const document = async (): Promise<OpenApi> => {
  const res = await app.request("/api/v1/openapi.json");
  expect(res.status).toBe(200);
  return (await res.json()) as OpenApi;
};

const METHODS = ["get", "post", "put", "patch", "delete"];
/** Every operation of the document as "METHOD /path/{param}". */
const operations = (doc: OpenApi) =>
  Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.keys(item)
      .filter((m) => METHODS.includes(m))
      .map((m) => `${m.toUpperCase()} ${path}`),
  );

/** Routes for every method are no operations: each is here with why it is not in the document. */
const NOT_OPERATIONS: Record<string, string> = {
  "/api/v1/*": "the catch-all under /api/v1: 401 without the admin token, then 404 or 405 with Allow",
  "/kube/*": "the Kubernetes API facade: Kubernetes-shaped, the document's kubernetes tag says where",
  "/*": "middleware that runs before every route",
  "/ui/data/*": "the dashboard's catch-all for data: 401 without a session, then 404",
};

test("validates as OpenAPI 3.1, open to anyone", async () => {
  const doc = await document();
  expect(doc.openapi).toStartWith("3.1.");
  const result = await new Validator().validate(doc as unknown as Record<string, unknown>);
  expect(result.errors).toBeUndefined();
  expect(result.valid).toBe(true);
});

test("lists every route the app serves, and only those", async () => {
  const doc = await document();
  const served = new Set<string>();
  const everyMethod = new Set<string>();
  for (const route of app.routes) {
    // The web dashboard's pages (/, /ui, /ui/services, ..., the login form, the static files) are
    // HTML for browsers and not in the document; the data they read (/ui/data/...) is.
    if (route.path === "/" || route.path === "/ui") continue;
    if (route.path.startsWith("/ui/") && !route.path.startsWith("/ui/data/")) continue;
    if (route.method === "ALL") everyMethod.add(route.path);
    else served.add(`${route.method} ${openApiPath(route.path)}`);
  }
  const documented = operations(doc);
  expect(new Set(documented).size).toBe(documented.length);
  expect(documented.toSorted()).toEqual([...served].toSorted());
  expect(documented.length).toBeGreaterThan(40);
  // The dashboard's data endpoints are there, under a dashboard session.
  for (const path of ["/ui/data/live", "/ui/data/traffic", "/ui/data/links", "/ui/data/logs/{service}"]) {
    expect(documented, path).toContain(`GET ${path}`);
    expect(doc.paths[path]?.get?.security, path).toEqual([{ dashboardSession: [] }]);
  }
  for (const path of everyMethod) expect(Object.keys(NOT_OPERATIONS), path).toContain(path);
  // The facade is not enumerated, but the document says where it is.
  expect(everyMethod.has("/kube/*")).toBe(true);
  expect(doc.tags.map((t) => t.name)).toContain("kubernetes");
  // Each operation is listed under a tag the document describes.
  const tags = doc.tags.map((t) => t.name);
  for (const [path, item] of Object.entries(doc.paths))
    for (const operation of Object.values(item)) expect(tags, path).toContain(operation.tags[0] ?? "");
  // Each path parameter is declared.
  for (const [path, item] of Object.entries(doc.paths))
    for (const operation of Object.values(item)) {
      const declared = (operation.parameters ?? []).filter((p) => p.in === "path").map((p) => p.name);
      expect(declared, path).toEqual([...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? ""));
    }
});

describe("each operation's security is what its route enforces", () => {
  const { username, password } = registeredNode(store, "edge1");
  const asNode = `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
  const asAdmin = `Bearer ${ADMIN_TOKEN}`;
  const SHA = "a".repeat(64);
  /** The operation's path with a value for each parameter. */
  const concrete = (path: string) =>
    path.replace(/\{(\w+)\}/g, (_, name: string) => (name === "sha" ? SHA : name === "id" ? "s1" : "edge1"));
  const call = (method: string, path: string, authorization?: string) =>
    app.request(concrete(path), {
      method: method.toUpperCase(),
      headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) },
      ...(method === "get" || method === "delete" ? {} : { body: "{}" }),
    });

  test("no credentials: 401 exactly where the document asks for some", async () => {
    const doc = await document();
    for (const [path, item] of Object.entries(doc.paths))
      for (const [method, operation] of Object.entries(item)) {
        const status = (await call(method, path)).status;
        if (operation.security.length === 0) expect(status, `${method} ${path}`).not.toBe(401);
        else expect(status, `${method} ${path}`).toBe(401);
      }
  });

  test("the admin token where only nodes may call, a node's credentials where only the admin may: 401", async () => {
    const doc = await document();
    let checked = 0;
    for (const [path, item] of Object.entries(doc.paths))
      for (const [method, operation] of Object.entries(item)) {
        const schemes = operation.security.flatMap((s) => Object.keys(s));
        if (schemes.length === 0) continue;
        if (!schemes.includes("adminToken")) {
          expect((await call(method, path, asAdmin)).status, `${method} ${path}`).toBe(401);
          checked++;
        }
        if (!schemes.includes("nodeCredentials")) {
          expect((await call(method, path, asNode)).status, `${method} ${path}`).toBe(401);
          checked++;
        }
      }
    expect(checked).toBeGreaterThan(30);
  });
});

describe("schemas come from the routes' zod schemas", () => {
  test("a JSON body is the schema the route parses with, as a client writes it", async () => {
    const join = (await document()).paths["/api/v1/join"]?.post;
    expect(join?.requestBody?.content["application/json"]?.schema).toEqual(
      jsonSchemaOf(joinRequestSchema, "input"),
    );
    const tokens = (await document()).paths["/api/v1/tokens"]?.post?.requestBody?.content["application/json"];
    // Fields with defaults are optional.
    expect(((tokens?.schema ?? {}) as { required?: string[] }).required ?? []).toEqual([]);
  });

  test("query parameters: required unless optional or defaulted, with their descriptions", async () => {
    const params = (await document()).paths["/api/v1/logs/{service}"]?.get?.parameters ?? [];
    expect(params.map((p) => [p.name, p.in, p.required])).toEqual([
      ["service", "path", true],
      ["node", "query", true],
      ["worker", "query", false],
      ["tail", "query", false],
      ["follow", "query", false],
      ["since", "query", false],
      ["timestamps", "query", false],
      ["previous", "query", false],
    ]);
    expect(params.find((p) => p.name === "follow")?.description).toContain("keep the answer open");
    expect(params.find((p) => p.name === "since")?.description).toContain("RFC 3339");
  });

  test("apply takes a manifest of any kind, as the kinds' schemas say", async () => {
    const apply = (await document()).paths["/api/v1/apply"]?.post?.requestBody?.content;
    expect(Object.keys(apply ?? {})).toEqual(["application/yaml", "application/json"]);
    const schema = (apply?.["application/yaml"]?.schema ?? {}) as { anyOf?: { title: string }[] };
    const kinds = schema.anyOf ?? [];
    expect(kinds.map((k) => k.title)).toContain("levee/v1 Service");
    expect(kinds.map((k) => k.title)).toContain("sedna.io/v1alpha1 JointMultiEdgeService");
  });
});

test("paths: hono patterns as OpenAPI paths, parameters in order", () => {
  expect(openApiPath("/api/v1/nodes/:name/certificate")).toBe("/api/v1/nodes/{name}/certificate");
  expect(openApiPath("/files/:sha{[0-9a-f]+}")).toBe("/files/{sha}");
  expect(pathParams("/logs/streams/:id/error/:x")).toEqual(["id", "x"]);
});

describe("a method a path does not serve: 405 with Allow", () => {
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const cases: [string, string, string][] = [
    ["DELETE", "/api/v1/nodes", "GET, HEAD"],
    ["PUT", "/api/v1/services/echo", "DELETE, GET, HEAD"],
    ["GET", "/api/v1/apply", "POST"],
    ["POST", "/api/v1/openapi.json", "GET, HEAD"],
    ["PATCH", `/api/v1/artifacts/${"a".repeat(64)}`, "DELETE, GET, HEAD"],
    ["OPTIONS", "/api/v1/artifacts", "GET, HEAD, POST"],
  ];
  test("under /api/v1, with the admin token: the methods it serves, in the API's error shape", async () => {
    for (const [method, path, allow] of cases) {
      const res = await app.request(path, { method, headers: admin });
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.headers.get("allow"), `${method} ${path}`).toBe(allow);
      expect(await res.json()).toEqual({
        error: `method ${method} is not allowed on ${path}; it answers ${allow}`,
      });
    }
  });

  test("under /api/v1 without the token: 401, as for a path that is no endpoint", async () => {
    const res = await app.request("/api/v1/nodes", { method: "DELETE" });
    expect(res.status).toBe(401);
    expect(res.headers.get("allow")).toBeNull();
  });

  test("the health endpoints: 405 to anyone; a path that is no endpoint stays a 404", async () => {
    const res = await app.request("/healthz", { method: "POST" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, HEAD");
    expect((await app.request("/nope", { method: "POST" })).status).toBe(404);
    expect((await app.request("/api/v1/nope", { method: "POST", headers: admin })).status).toBe(404);
  });
});
