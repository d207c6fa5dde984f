import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import type { CatalogNode, CatalogWorker, LocalEndpoint } from "../../../src/mesh/contracts.ts";
import { BalancerRegistry } from "../../../src/mesh/routing/registry.ts";
import {
  decideRoute,
  ERROR_HEADER,
  headerValue,
  nearest,
  type RouteInput,
} from "../../../src/mesh/routing/route.ts";
import { Clock, catalog, cluster, endpoint, node, service } from "./helpers.ts";

const workersOn = (...nodes: [string, boolean][]): CatalogWorker[] =>
  nodes.map(([name, ready], index) => ({ node: name, index, ready }));

function input(overrides: Partial<RouteInput>): RouteInput {
  return {
    self: "edge2",
    catalog: cluster([service("api")]),
    service: "api",
    local: [],
    balancers: new BalancerRegistry({ now: new Clock().now }),
    distance: () => undefined,
    hops: 0,
    ...overrides,
  };
}

describe("decideRoute", () => {
  test("ready local workers are served locally, balanced, and other services' endpoints are ignored", () => {
    const balancers = new BalancerRegistry({ now: new Clock().now });
    const local = [endpoint(0), endpoint(1), endpoint(5, true, "other")];
    const served = Array.from({ length: 4 }, () => {
      const decision = decideRoute(input({ local, balancers }));
      if (decision.kind !== "local") throw new Error(`expected local, got ${decision.kind}`);
      decision.pick.done({ ok: true, latencyMs: 1 });
      expect(decision.target).toEqual({
        kind: "local",
        service: "api",
        index: decision.pick.endpoint.index,
        port: decision.pick.endpoint.port,
      });
      return decision.pick.endpoint.index;
    });
    expect(served).toEqual([0, 1, 0, 1]);
    expect(balancers.status()).toMatchObject([{ service: "api", node: "edge2", strategy: "round-robin" }]);
  });

  test("the catalog's strategy is used and switched in place", () => {
    const balancers = new BalancerRegistry({ now: new Clock().now });
    decideRoute(
      input({ balancers, local: [endpoint(0)], catalog: cluster([service("api", { balance: "p2c-ewma" })]) }),
    );
    expect(balancers.status()[0]?.strategy).toBe("p2c-ewma");
    decideRoute(
      input({
        balancers,
        local: [endpoint(0)],
        catalog: cluster([service("api", { balance: "least-request" })]),
      }),
    );
    expect(balancers.status()[0]?.strategy).toBe("least-request");
  });

  const workers = workersOn(["cloud", true], ["edge1", true], ["edge3", true], ["edge2", true]);
  const table: {
    name: string;
    fallback: "none" | "cloud" | "any";
    workers?: CatalogWorker[];
    nodes?: (n: CatalogNode) => CatalogNode;
    self?: string;
    hops?: number;
    distance?: Record<string, number>;
    want: Record<string, unknown>;
  }[] = [
    {
      name: "fallback none → 503 naming service and node",
      fallback: "none",
      workers,
      want: {
        kind: "refuse",
        status: 503,
        reason: "no-ready-worker",
        header: "no ready worker of service api on node edge2",
        body: { error: "no ready worker of service api on node edge2", service: "api", node: "edge2" },
      },
    },
    {
      name: "fallback cloud → the cloud node",
      fallback: "cloud",
      workers,
      want: {
        kind: "forward",
        node: "cloud",
        reason: "fallback-cloud",
        target: { kind: "node", node: "cloud", service: "api" },
      },
    },
    {
      name: "fallback cloud, no ready worker on the cloud → refused, saying so",
      fallback: "cloud",
      workers: workersOn(["cloud", false], ["edge1", true]),
      want: {
        kind: "refuse",
        status: 503,
        reason: "fallback-cloud-unavailable",
        error:
          "no ready worker of service api on node edge2; fallback cloud: cloud node cloud has no ready worker of service api",
      },
    },
    {
      name: "fallback cloud, cloud node disconnected → refused, saying so",
      fallback: "cloud",
      workers,
      nodes: (n) => (n.role === "cloud" ? { ...n, state: "Disconnected" } : n),
      want: {
        kind: "refuse",
        error:
          "no ready worker of service api on node edge2; fallback cloud: cloud node cloud is Disconnected",
      },
    },
    {
      name: "fallback cloud on the cloud itself → refused",
      fallback: "cloud",
      workers,
      self: "cloud",
      want: {
        kind: "refuse",
        error: "no ready worker of service api on node cloud; fallback cloud: node cloud is the cloud node",
      },
    },
    {
      name: "fallback cloud without a cloud node → refused",
      fallback: "cloud",
      workers,
      nodes: (n) => ({ ...n, role: "edge" }),
      want: {
        kind: "refuse",
        error: "no ready worker of service api on node edge2; fallback cloud: the catalog has no cloud node",
      },
    },
    {
      name: "fallback any → the nearest other node with a ready worker",
      fallback: "any",
      workers,
      distance: { cloud: 30, edge1: 4, edge3: 2 },
      want: { kind: "forward", node: "edge3", reason: "fallback-any" },
    },
    {
      name: "fallback any: unknown distances sort last, ties by name",
      fallback: "any",
      workers,
      distance: { cloud: 30 },
      want: { kind: "forward", node: "cloud" },
    },
    {
      name: "fallback any: all unknown → by name",
      fallback: "any",
      workers,
      want: { kind: "forward", node: "cloud" },
    },
    {
      name: "fallback any skips nodes that are not Ready or have no ready worker",
      fallback: "any",
      workers: workersOn(["cloud", false], ["edge1", true], ["edge3", true]),
      nodes: (n) => (n.name === "edge3" ? { ...n, state: "Lost" } : n),
      distance: { edge3: 1, edge1: 50 },
      want: { kind: "forward", node: "edge1" },
    },
    {
      name: "fallback any with nowhere to go → refused",
      fallback: "any",
      workers: workersOn(["edge2", true], ["cloud", false]),
      want: {
        kind: "refuse",
        reason: "fallback-any-unavailable",
        error:
          "no ready worker of service api on node edge2; fallback any: no other Ready node has a ready worker of service api",
      },
    },
    {
      name: "a forwarded request is never forwarded again",
      fallback: "any",
      workers,
      hops: 1,
      want: { kind: "refuse", status: 503, reason: "already-forwarded" },
    },
  ];
  for (const row of table) {
    test(row.name, () => {
      const base = cluster([service("api", { fallback: row.fallback, workers: row.workers ?? [] })]);
      const c = { ...base, nodes: base.nodes.map(row.nodes ?? ((n) => n)) };
      const decision = decideRoute(
        input({
          catalog: c,
          self: row.self ?? "edge2",
          hops: row.hops ?? 0,
          local: [endpoint(0, false), endpoint(1, false)],
          distance: (name) => row.distance?.[name],
        }),
      );
      expect(decision).toMatchObject(row.want);
      if (decision.kind === "refuse") expect(decision.header).toBe(decision.error);
    });
  }

  test("a garbled hop count never allows a forward", () => {
    const c = cluster([
      service("api", { fallback: "any", workers: [{ node: "edge1", index: 0, ready: true }] }),
    ]);
    expect(decideRoute(input({ catalog: c, hops: 0 }))).toMatchObject({ kind: "forward", node: "edge1" });
    for (const hops of [Number.NaN, -1, 0.5, Number.POSITIVE_INFINITY]) {
      expect(decideRoute(input({ catalog: c, hops }))).toMatchObject({
        kind: "refuse",
        reason: "already-forwarded",
      });
    }
  });

  test("unknown service → 404", () => {
    expect(decideRoute(input({ service: "nope" }))).toMatchObject({
      kind: "refuse",
      status: 404,
      reason: "unknown-service",
      body: { service: "nope", node: "edge2" },
    });
    expect(ERROR_HEADER).toBe("X-Levee-Error");
  });

  test("header values cannot break the response", () => {
    expect(headerValue("a\r\nSet-Cookie: x\u00e9")).toBe("a??Set-Cookie: x?");
    expect(headerValue("x".repeat(2000)).length).toBe(512);
  });

  test("nearest: ignores negative and non-finite distances", () => {
    const nodes = [node("a"), node("b"), node("c")];
    const d: Record<string, number> = { a: Number.NaN, b: -1, c: 9 };
    expect(nearest(nodes, (n) => d[n])?.name).toBe("c");
    expect(nearest([], () => 1)).toBeUndefined();
  });
});

describe("decideRoute properties", () => {
  const names = ["cloud", "edge1", "edge2", "edge3", "edge4"];
  const scenario = fc.record({
    self: fc.constantFrom(...names),
    fallback: fc.constantFrom("none" as const, "cloud" as const, "any" as const),
    balance: fc.constantFrom("round-robin" as const, "least-request" as const, "p2c-ewma" as const),
    states: fc.array(fc.constantFrom("Ready" as const, "Disconnected" as const, "Lost" as const), {
      minLength: names.length,
      maxLength: names.length,
    }),
    cloudAt: fc.integer({ min: -1, max: names.length - 1 }),
    workers: fc.array(fc.record({ node: fc.constantFrom(...names), ready: fc.boolean() }), { maxLength: 12 }),
    local: fc.array(fc.boolean(), { maxLength: 4 }),
    distances: fc.array(fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }), {
      minLength: names.length,
      maxLength: names.length,
    }),
    hops: fc.integer({ min: 0, max: 3 }),
  });

  test("local when a local worker is ready; never a second forward; forwards only to a fitting other node", () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const nodes = names.map((name, i) =>
          node(name, { role: i === s.cloudAt ? "cloud" : "edge", state: s.states[i] ?? "Ready" }),
        );
        const workers = s.workers.map((w, index) => ({ ...w, index }));
        const c = catalog(nodes, [service("api", { fallback: s.fallback, balance: s.balance, workers })]);
        const local: LocalEndpoint[] = s.local.map((ready, i) => endpoint(i, ready));
        const distance = (name: string) => s.distances[names.indexOf(name)];
        const decision = decideRoute(
          input({
            self: s.self,
            catalog: c,
            local,
            distance,
            hops: s.hops,
            balancers: new BalancerRegistry(),
          }),
        );
        const localReady = local.some((e) => e.ready);
        expect(decision.kind === "local").toBe(localReady);
        if (decision.kind === "local") {
          expect(decision.pick.endpoint.ready).toBe(true);
          return;
        }
        if (decision.kind === "refuse") {
          expect(decision.status).toBe(503);
          expect(decision.body).toMatchObject({ service: "api", node: s.self });
          expect(decision.header.startsWith(`no ready worker of service api on node ${s.self}`)).toBe(true);
          return;
        }
        // A forward: only from a fresh request, under a fallback, to another Ready node with a ready worker.
        expect(s.hops).toBe(0);
        expect(s.fallback).not.toBe("none");
        expect(decision.node).not.toBe(s.self);
        const target = nodes.find((n) => n.name === decision.node) as CatalogNode;
        expect(target.state).toBe("Ready");
        expect(workers.some((w) => w.node === decision.node && w.ready)).toBe(true);
        if (s.fallback === "cloud") expect(target.role).toBe("cloud");
        if (s.fallback === "any") {
          // No other fitting node is strictly nearer.
          const mine = distance(decision.node);
          for (const other of nodes) {
            if (other.name === s.self || other.state !== "Ready") continue;
            if (!workers.some((w) => w.node === other.name && w.ready)) continue;
            const theirs = distance(other.name);
            if (mine === undefined) expect(theirs).toBeUndefined();
            else if (theirs !== undefined) expect(theirs).toBeGreaterThanOrEqual(mine);
          }
        }
      }),
      { numRuns: 1_000 },
    );
  });
});
