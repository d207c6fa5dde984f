// Which service ports the kernel may serve: only where the userspace path would do the same thing
// (its listener up, this node's ready workers, one of them or tcp per connection).
import { describe, expect, test } from "bun:test";
import type { CatalogService, LocalEndpoint } from "../../../src/mesh/contracts.ts";
import { addressMatch, planFastPath } from "../../../src/mesh/fastpath/plan.ts";
import { endpoint, service as routingService } from "../routing/helpers.ts";

const service = (name: string, port: number, extra: Partial<CatalogService> = {}) =>
  routingService(name, { port, ...extra });

const worker = (service: string, index: number, port: number, ready = true): LocalEndpoint =>
  endpoint(index, ready, service, port);
const plan = (services: CatalogService[], local: LocalEndpoint[], bindAddress = "0.0.0.0", up = true) =>
  planFastPath({ services, local, bindAddress, listening: () => up });

describe("fast path plan", () => {
  test("one ready worker here: the kernel's path, to that worker", () => {
    const result = plan([service("web", 8080)], [worker("web", 0, 20001), worker("other", 0, 20002)]);
    expect(result.routes).toEqual([
      {
        service: "web",
        port: 8080,
        protocol: "http",
        balance: "round-robin",
        workers: [{ index: 0, port: 20001 }],
      },
    ]);
    expect(result.notes.get("web")?.path).toBe("kernel");
    expect(result.notes.get("web")?.reason).toContain("127.0.0.1:20001");
  });

  test("unready workers do not count; none ready: userspace (it answers 503 or falls back)", () => {
    const result = plan([service("web", 8080)], [worker("web", 0, 20001, false)]);
    expect(result.routes).toEqual([]);
    expect(result.notes.get("web")).toEqual({
      path: "userspace",
      reason: "no ready worker on this node (the userspace path answers)",
    });
    const one = plan([service("web", 8080)], [worker("web", 0, 20001, false), worker("web", 1, 20002)]);
    expect(one.routes[0]?.workers).toEqual([{ index: 1, port: 20002 }]);
  });

  test("several ready http workers are balanced per request: userspace", () => {
    const result = plan([service("web", 8080)], [worker("web", 0, 20001), worker("web", 1, 20002)]);
    expect(result.routes).toEqual([]);
    expect(result.notes.get("web")?.reason).toBe("2 ready http workers here are balanced per request");
  });

  test("several ready tcp workers: the kernel balances per connection, workers by index", () => {
    const result = plan(
      [service("db", 5432, { protocol: "tcp", balance: "least-request" })],
      [worker("db", 1, 20002), worker("db", 0, 20001)],
    );
    expect(result.routes[0]?.workers).toEqual([
      { index: 0, port: 20001 },
      { index: 1, port: 20002 },
    ]);
    expect(result.notes.get("db")?.reason).toContain("per connection (random)");
  });

  test("a service without a worker here, or whose listener is not up, stays on userspace", () => {
    expect(plan([service("web", 8080)], []).routes).toEqual([]);
    const down = plan([service("web", 8080)], [worker("web", 0, 20001)], "0.0.0.0", false);
    expect(down.routes).toEqual([]);
    expect(down.notes.get("web")?.reason).toContain("listener is not up");
  });

  test("bind addresses: wildcard and IPv4 match; IPv6 and host names do not", () => {
    expect(addressMatch("0.0.0.0")).toEqual({ kind: "local" });
    expect(addressMatch("::")).toEqual({ kind: "local" });
    expect(addressMatch("10.0.0.5")).toEqual({ kind: "ipv4", address: "10.0.0.5" });
    expect(addressMatch("fd00::1")).toHaveProperty("error");
    expect(addressMatch("edge.local")).toHaveProperty("error");
    expect(addressMatch("10.0.0.256")).toHaveProperty("error");
    const result = plan([service("web", 8080)], [worker("web", 0, 20001)], "fd00::1");
    expect(result.routes).toEqual([]);
    expect(result.notes.get("web")?.reason).toContain("IPv4 only");
  });
});
