// Which methods a path is served with, from an app's own route table: parameters and wildcards
// match as hono matches them, routes for every method (middleware, catch-alls, mounts) say nothing,
// HEAD comes with GET.
import { expect, test } from "bun:test";
import { Hono } from "hono";
import { AllowedMethods, methodNotAllowedMessage } from "../../src/runtime/allowed-methods.ts";

test("the methods of the routes whose pattern matches the path, sorted, HEAD with GET", () => {
  const app = new Hono();
  app.use(async (_c, next) => next());
  app.get("/items/:id", (c) => c.text(""));
  app.delete("/items/:id", (c) => c.text(""));
  app.post("/items", (c) => c.text(""));
  const api = new Hono();
  api.put("/files/:sha{[0-9a-f]+}", (c) => c.text(""));
  api.all("*", (c) => c.text("catch-all"));
  app.route("/api", api);
  app.mount("/kube", () => new Response(""));
  const allowed = new AllowedMethods(() => app.routes);
  expect(allowed.at("/items/1")).toEqual(["DELETE", "GET", "HEAD"]);
  expect(allowed.at("/items")).toEqual(["POST"]);
  expect(allowed.at("/api/files/ab12")).toEqual(["PUT"]);
  expect(allowed.at("/api/files/XYZ")).toEqual([]); // the pattern's regex does not match
  expect(allowed.at("/items/1/more")).toEqual([]);
  expect(allowed.at("/api/anything")).toEqual([]); // only the catch-all
  expect(allowed.at("/kube/api")).toEqual([]); // only the mount
});

test("the routes are read once, when first asked", () => {
  let reads = 0;
  const allowed = new AllowedMethods(() => {
    reads++;
    return [{ method: "GET", path: "/a" }];
  });
  expect(reads).toBe(0);
  expect(allowed.at("/a")).toEqual(["GET", "HEAD"]);
  expect(allowed.at("/b")).toEqual([]);
  expect(reads).toBe(1);
});

test("the message names the method, the path and what it answers", () => {
  expect(methodNotAllowedMessage("PUT", "/a", ["GET", "HEAD"])).toBe(
    "method PUT is not allowed on /a; it answers GET, HEAD",
  );
});
