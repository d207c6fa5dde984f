import { describe, expect, test } from "bun:test";
import { BalancerRegistry } from "../../../src/mesh/routing/registry.ts";
import { Clock, endpoints } from "./helpers.ts";

describe("BalancerRegistry", () => {
  test("one balancer per (service, node), kept across calls; retain forgets removed services", () => {
    const made: string[] = [];
    const registry = new BalancerRegistry({
      now: new Clock().now,
      observe: (service, node, protocol) => {
        made.push(`${service}/${node}/${protocol}`);
        return undefined;
      },
    });
    const a = registry.balancer("api", "edge1", "round-robin");
    expect(registry.balancer("api", "edge1", "least-request")).toBe(a);
    expect(a.strategy).toBe("least-request");
    expect(registry.balancer("api", "edge2", "round-robin")).not.toBe(a);
    registry.balancer("db", "edge1", "round-robin", "tcp");
    a.pick(endpoints(2, "api"));
    expect(
      registry.status().map((s) => [s.service, s.node, s.strategy, s.protocol, s.endpoints.length]),
    ).toEqual([
      ["api", "edge1", "least-request", "http", 2],
      ["api", "edge2", "round-robin", "http", 0],
      ["db", "edge1", "round-robin", "tcp", 0],
    ]);
    // A protocol change starts a fresh balancer (other units, other counters).
    const tcp = registry.balancer("api", "edge1", "least-request", "tcp");
    expect(tcp).not.toBe(a);
    registry.retain(["db"]);
    expect(registry.status().map((s) => s.service)).toEqual(["db"]);
    expect(made).toEqual(["api/edge1/http", "api/edge2/http", "db/edge1/tcp", "api/edge1/tcp"]);
  });
});
