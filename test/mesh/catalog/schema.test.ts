// parseCatalog: a catalog from the broker (or read back from SQLite) is validated before routing;
// one nesting deeper than the limit is refused before it is parsed, never a throw.
import { describe, expect, test } from "bun:test";
import { parseCatalog } from "../../../src/mesh/catalog/schema.ts";

const catalog = (labels: string) =>
  `{"v":1,"revision":1,"epoch":"e","nodes":[{"name":"edge1","role":"edge","addresses":[],"labels":${labels},"state":"Ready","tunnelPort":7403}],"services":[]}`;

describe("parseCatalog", () => {
  test("a catalog reads back", () => {
    const parsed = parseCatalog(catalog('{"role":"camera"}'));
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(parsed.catalog.nodes[0]?.labels).toEqual({ role: "camera" });
    expect(parsed.ok && parseCatalog("{nope")).toMatchObject({
      ok: false,
      reason: expect.stringContaining("not valid JSON"),
    });
  });

  test("node and service names are DNS subdomains: dotted nodes, qualified services", () => {
    const named = (node: string, service: string) =>
      JSON.stringify({
        v: 1,
        revision: 1,
        epoch: "e",
        nodes: [{ name: node, role: "edge", addresses: [], labels: {}, state: "Ready", tunnelPort: 7402 }],
        services: [
          {
            name: service,
            port: 19100,
            protocol: "http",
            balance: "round-robin",
            fallback: "none",
            upstreams: [{ service, node, localPort: 16379 }],
            workers: [{ node, index: 0, ready: true }],
          },
        ],
      });
    expect(parseCatalog(named("edge.site-a", "api.team-b")).ok).toBe(true);
    expect(parseCatalog(named("edge/site-a", "api"))).toEqual({
      ok: false,
      reason: "nodes.0.name: expected a DNS subdomain",
    });
    expect(parseCatalog(named("edge1", "api..b"))).toMatchObject({ ok: false });
  });

  test("100,000 nested levels: refused naming the limit", () => {
    const deep = `${'{"a":'.repeat(100_000)}"x"${"}".repeat(100_000)}`;
    expect(parseCatalog(catalog(deep))).toEqual({
      ok: false,
      reason: "the catalog nests deeper than 64 levels (at line 1, column 401)",
    });
  });
});
