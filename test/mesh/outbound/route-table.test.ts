import { describe, expect, test } from "bun:test";
import type { Catalog } from "../../../src/mesh/contracts.ts";
import { desiredRoutes, REMOVED_KEPT_MS, RouteTable } from "../../../src/mesh/outbound/route-table.ts";

function catalog(services: Partial<Catalog["services"][0]>[]): Catalog {
  return {
    v: 1,
    revision: 1,
    epoch: "e",
    nodes: [],
    services: services.map((s) => ({
      name: "svc",
      port: 19000,
      protocol: "http",
      balance: "round-robin",
      fallback: "none",
      upstreams: [],
      workers: [],
      ...s,
    })),
  };
}

describe("desiredRoutes", () => {
  test("a service port for every service; upstreams only where the declaring service runs", () => {
    const c = catalog([
      { name: "app", port: 19100, upstreams: [{ service: "redis", node: "cloud", localPort: 6379 }] },
      { name: "redis", port: 19200, protocol: "tcp" },
    ]);
    expect(desiredRoutes(c, new Set()).map((r) => `${r.kind}:${r.service}:${r.port}`)).toEqual([
      "service-port:app:19100",
      "service-port:redis:19200",
    ]);
    const here = desiredRoutes(c, new Set(["app"]));
    expect(here.at(-1)).toEqual({
      kind: "upstream",
      service: "app",
      port: 6379,
      target: { service: "redis", node: "cloud" },
      protocol: "tcp",
    });
  });
});

describe("RouteTable", () => {
  test("pending → applied / failed → removed, kept for a while, then gone", () => {
    let now = new Date("2026-01-01T00:00:00Z");
    const table = new RouteTable(() => now);
    const c = catalog([
      { name: "a", port: 1 },
      { name: "b", port: 2 },
    ]);
    const first = table.setDesired(desiredRoutes(c, new Set()));
    expect(first.open.map((r) => r.service)).toEqual(["a", "b"]);
    expect(table.list().map((r) => r.state)).toEqual(["pending", "pending"]);
    table.applied(first.open[0] as (typeof first.open)[0]);
    table.failed(first.open[1] as (typeof first.open)[0], "port 2 is in use");
    expect(table.list().map((r) => [r.service, r.state, r.message])).toEqual([
      ["a", "applied", "listening"],
      ["b", "failed", "port 2 is in use"],
    ]);
    // Unchanged desire: nothing to do.
    expect(table.setDesired(desiredRoutes(c, new Set()))).toEqual({ open: [], close: [] });
    now = new Date(now.getTime() + 1000);
    const second = table.setDesired(desiredRoutes(catalog([{ name: "a", port: 1 }]), new Set()));
    expect(second.close.map((r) => r.service)).toEqual(["b"]);
    expect(table.list().find((r) => r.service === "b")?.state).toBe("removed");
    now = new Date(now.getTime() + REMOVED_KEPT_MS + 1);
    expect(table.list().map((r) => r.service)).toEqual(["a"]);
    // Back again: pending anew.
    expect(table.setDesired(desiredRoutes(c, new Set())).open.map((r) => r.service)).toEqual(["b"]);
  });
});
