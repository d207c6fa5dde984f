import { describe, expect, test } from "bun:test";
import { Registry } from "prom-client";
import { MeshMetrics, outcomeLabel } from "../../../src/mesh/routing/metrics.ts";
import { BalancerRegistry } from "../../../src/mesh/routing/registry.ts";
import { decideRoute } from "../../../src/mesh/routing/route.ts";
import { Clock, cluster, endpoint, service } from "./helpers.ts";

async function values(registry: Registry, name: string): Promise<Record<string, number>> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  if (!metric) throw new Error(`no metric ${name}`);
  const out: Record<string, number> = {};
  for (const v of metric.values) {
    const labels = Object.entries(v.labels)
      .map(([k, l]) => `${k}=${l}`)
      .join(",");
    const key = "metricName" in v && v.metricName ? `${v.metricName}{${labels}}` : `{${labels}}`;
    out[key] = v.value;
  }
  return out;
}

describe("MeshMetrics", () => {
  test("outcome labels", () => {
    expect(outcomeLabel({ ok: true, status: 200, latencyMs: 1 })).toBe("ok");
    expect(outcomeLabel({ ok: true, status: 502, latencyMs: 1 })).toBe("5xx");
    expect(outcomeLabel({ ok: false, latencyMs: 1, error: "refused" })).toBe("refused");
    expect(outcomeLabel({ ok: false, latencyMs: 1 })).toBe("failed");
  });

  test("counts picks, outcomes, in flight, latency, ejections, panics, refusals and forwards", async () => {
    const registry = new Registry();
    const metrics = new MeshMetrics(registry);
    const clock = new Clock();
    const balancers = new BalancerRegistry({
      now: clock.now,
      observe: (s, n, p) => metrics.observer(s, n, p),
    });
    const http = cluster([
      service("api", { fallback: "cloud", workers: [{ node: "cloud", index: 0, ready: true }] }),
      service("redis", { protocol: "tcp", port: 6379 }),
    ]);
    const route = (svc: string, local = [endpoint(0, true, svc), endpoint(1, true, svc)]) => {
      const decision = decideRoute({
        self: "edge2",
        catalog: http,
        service: svc,
        local,
        balancers,
        distance: () => undefined,
        hops: 0,
      });
      metrics.decision(svc, "edge2", decision);
      return decision;
    };

    const a = route("api");
    const b = route("api");
    if (a.kind !== "local" || b.kind !== "local") throw new Error("expected local picks");
    expect(await values(registry, "levee_mesh_in_flight")).toEqual({
      "{service=api,node=edge2,worker=0}": 1,
      "{service=api,node=edge2,worker=1}": 1,
    });
    a.pick.done({ ok: true, status: 200, latencyMs: 3 });
    b.pick.done({ ok: false, latencyMs: 1, error: "refused" });
    // Worker 1 is ejected; 0 refuses too → both ejected → the next pick is a panic pick.
    const c = route("api");
    if (c.kind !== "local") throw new Error("expected local");
    c.pick.done({ ok: false, latencyMs: 1, error: "reset" });
    const d = route("api");
    if (d.kind !== "local") throw new Error("expected local");
    // Both ejected until the same time: ties go round-robin, after 0 comes 1.
    expect(d.pick).toMatchObject({ panic: true, endpoint: { index: 1 } });
    d.pick.done({ ok: true, status: 200, latencyMs: 2 });

    const t = route("redis");
    if (t.kind !== "local") throw new Error("expected local");
    t.pick.done({ ok: true, latencyMs: 1_500 });

    route("api", []); // no local worker: fallback cloud → forward
    route("redis", []); // fallback none → refusal
    route("ghost", []); // unknown service

    expect(await values(registry, "levee_mesh_requests_total")).toEqual({
      "{service=api,node=edge2,worker=0,outcome=ok}": 1,
      "{service=api,node=edge2,worker=1,outcome=refused}": 1,
      "{service=api,node=edge2,worker=0,outcome=reset}": 1,
      "{service=api,node=edge2,worker=1,outcome=ok}": 1,
    });
    expect(await values(registry, "levee_mesh_connections_total")).toEqual({
      "{service=redis,node=edge2,worker=0,outcome=ok}": 1,
    });
    expect(await values(registry, "levee_mesh_ejections_total")).toEqual({
      "{service=api,node=edge2,worker=0}": 1,
      "{service=api,node=edge2,worker=1}": 1,
    });
    expect(await values(registry, "levee_mesh_panic_picks_total")).toEqual({ "{service=api,node=edge2}": 1 });
    expect(Object.values(await values(registry, "levee_mesh_in_flight"))).toEqual([0, 0, 0]);
    expect(await values(registry, "levee_mesh_refusals_total")).toEqual({
      "{service=redis,node=edge2,reason=no-ready-worker}": 1,
      "{service=ghost,node=edge2,reason=unknown-service}": 1,
    });
    expect(await values(registry, "levee_mesh_forwards_total")).toEqual({
      "{service=api,node=edge2,to=cloud,reason=fallback-cloud}": 1,
    });
    const latency = await values(registry, "levee_mesh_upstream_latency_seconds");
    // Connect failures are not latency samples: one each (3 ms on worker 0, 2 ms on worker 1).
    expect(latency["levee_mesh_upstream_latency_seconds_count{service=api,node=edge2,worker=0}"]).toBe(1);
    expect(latency["levee_mesh_upstream_latency_seconds_sum{service=api,node=edge2,worker=0}"]).toBeCloseTo(
      0.003,
      9,
    );
    expect(latency["levee_mesh_upstream_latency_seconds_sum{service=api,node=edge2,worker=1}"]).toBeCloseTo(
      0.002,
      9,
    );
    expect(
      latency["levee_mesh_upstream_latency_seconds_bucket{le=2.5,service=redis,node=edge2,worker=0}"],
    ).toBe(1);
    const text = await registry.metrics();
    expect(text).toContain("# TYPE levee_mesh_requests_total counter");
    expect(text).toContain("# TYPE levee_mesh_upstream_latency_seconds histogram");
    expect(text).toContain(
      'levee_mesh_upstream_latency_seconds_bucket{le="2.5",service="redis",node="edge2",worker="0"} 1',
    );
    expect(text).toContain(
      'levee_mesh_upstream_latency_seconds_count{service="api",node="edge2",worker="0"} 1',
    );
  });

  test("registries are isolated", () => {
    const one = new Registry();
    new MeshMetrics(one);
    const two = new Registry();
    expect(() => new MeshMetrics(two)).not.toThrow();
    expect(() => new MeshMetrics(one)).toThrow();
  });
});
