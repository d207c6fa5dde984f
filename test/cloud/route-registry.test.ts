// The route registry: a route is served and documented at once, under the prefixes it is mounted
// with; one described twice is a bug found when the app is built; a route shared code mounts is
// documented without being served twice.
import { expect, test } from "bun:test";
import { Hono } from "hono";
import { joinPath, RouteRegistry } from "../../src/cloud/api/route-registry.ts";

const spec = (method: "get" | "post", path: string) =>
  ({ method, path, summary: "s", tag: "t", auth: "none", responses: { 200: "ok" } }) as const;

test("add serves the route and records it with its full path", async () => {
  const registry = new RouteRegistry();
  const app = new Hono();
  const api = new Hono();
  const routes = registry.on(api, "/api/v1");
  routes.add(spec("get", "/nodes/:name"), (c) => c.text(c.req.param("name") ?? ""));
  routes.under("/artifacts").add(spec("post", "/"), (c) => c.text("stored"));
  registry.on(app, "").mounted(spec("get", "/healthz"));
  app.route("/api/v1", api);
  expect(registry.routes.map((r) => `${r.method} ${r.fullPath}`)).toEqual([
    "get /api/v1/nodes/:name",
    "post /api/v1/artifacts",
    "get /healthz",
  ]);
  expect(await (await app.request("/api/v1/nodes/edge1")).text()).toBe("edge1");
  expect(await (await app.request("/api/v1/artifacts", { method: "POST" })).text()).toBe("stored");
  expect((await app.request("/healthz")).status).toBe(404); // documented only: shared code serves it
});

test("a route described twice throws when it is added", () => {
  const routes = new RouteRegistry().on(new Hono(), "/api/v1");
  routes.add(spec("get", "/a"), (c) => c.text(""));
  routes.add(spec("post", "/a"), (c) => c.text(""));
  expect(() => routes.add(spec("get", "/a"), (c) => c.text(""))).toThrow(
    "route GET /api/v1/a is described twice",
  );
});

test("paths join with one slash and no trailing one", () => {
  expect(joinPath("/api/v1", "/nodes")).toBe("/api/v1/nodes");
  expect(joinPath("/artifacts", "/")).toBe("/artifacts");
  expect(joinPath("", "/")).toBe("/");
  expect(joinPath("/", "/x")).toBe("/x");
});
