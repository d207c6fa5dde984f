// /readyz says which part is not ready; /healthz only says the process is alive.
import { expect, test } from "bun:test";
import { Hono } from "hono";
import { mountHealthRoutes, Readiness } from "../../src/runtime/health.ts";

test("readyz is 503 naming the failing checks, 200 once all pass", async () => {
  const readiness = new Readiness();
  let brokerUp = false;
  readiness.add("store", () => true);
  readiness.add("mqtt", () => (brokerUp ? true : "not connected to mqtt://broker:1883"));
  readiness.add("broken", () => {
    throw new Error("check crashed");
  });
  const app = new Hono();
  mountHealthRoutes(app, readiness, { mode: "edge", node: "edge1" });

  let res = await app.request("/readyz");
  expect(res.status).toBe(503);
  expect(await res.json()).toEqual({
    status: "not ready",
    checks: { store: "ok", mqtt: "not connected to mqtt://broker:1883", broken: "check crashed" },
    mode: "edge",
    node: "edge1",
  });
  expect((await app.request("/healthz")).status).toBe(200);

  brokerUp = true;
  readiness.add("broken", () => true);
  res = await app.request("/readyz");
  expect(res.status).toBe(200);
  expect(((await res.json()) as { status: string }).status).toBe("ready");
});

test("details are shown by readyz and never make it fail", async () => {
  const readiness = new Readiness();
  readiness.add("store", () => true);
  readiness.detail("mesh fast path", () => "unavailable, every route on the userspace path: nft not found");
  readiness.detail("broken", () => {
    throw new Error("detail crashed");
  });
  const app = new Hono();
  mountHealthRoutes(app, readiness, { mode: "edge" });
  const res = await app.request("/readyz");
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({
    status: "ready",
    checks: { store: "ok" },
    mode: "edge",
    details: {
      "mesh fast path": "unavailable, every route on the userspace path: nft not found",
      broken: "detail crashed",
    },
  });
});
