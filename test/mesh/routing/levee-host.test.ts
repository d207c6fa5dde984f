// `<service>.<node>.levee` with dotted node names and qualified service names: the catalog decides
// where the service ends and the node begins; two readings are ambiguous, none names what is unknown.
import { describe, expect, test } from "bun:test";
import { readLeveeHost } from "../../../src/mesh/routing/levee-host.ts";
import { type ProxyRequest, targetOf } from "../../../src/mesh/routing/target.ts";
import { catalog, node, service } from "./helpers.ts";

const c = catalog(
  [node("cloud.kubeedge", { role: "cloud" }), node("edge.site-a"), node("edge1"), node("site-a")],
  [service("api"), service("api.team-b", { port: 19_200 }), service("db.edge", { port: 5_432 })],
);

/** The reading as "service @ node", or the refusal as "status error". */
function read(host: string): string {
  const result = readLeveeHost(host, c);
  return result.ok ? `${result.service.name} @ ${result.node.name}` : `${result.status} ${result.error}`;
}

describe("readLeveeHost", () => {
  test("a plain service on a plain node", () => {
    expect(read("api.edge1.levee")).toBe("api @ edge1");
  });

  test("a plain service on a dotted node", () => {
    expect(read("api.edge.site-a.levee")).toBe("api @ edge.site-a");
    expect(read("api.cloud.kubeedge.levee")).toBe("api @ cloud.kubeedge");
  });

  test("a qualified service on a plain node and on a dotted node", () => {
    expect(read("api.team-b.edge1.levee")).toBe("api.team-b @ edge1");
    expect(read("api.team-b.cloud.kubeedge.levee")).toBe("api.team-b @ cloud.kubeedge");
  });

  test("node names match in any case (the host arrives lower-cased; catalog names may not be)", () => {
    const mixed = catalog([node("Edge.Site-A")], [service("api")]);
    const result = readLeveeHost("api.edge.site-a.levee", mixed);
    expect(result.ok && result.node.name).toBe("Edge.Site-A");
  });

  test("two readings that both name a known service and node are refused as ambiguous, naming both", () => {
    // Two readings need a service name that starts another service name (a, a.b) and two nodes.
    const twice = catalog([node("b.c"), node("c")], [service("a"), service("a.b")]);
    expect(readLeveeHost("a.b.c.levee", twice)).toEqual({
      ok: false,
      status: 400,
      error: "host a.b.c.levee is ambiguous: service a on node b.c, or service a.b on node c",
    });
    // One known reading among several is no ambiguity: db.edge on site-a (db is no service).
    expect(read("db.edge.site-a.levee")).toBe("db.edge @ site-a");
  });

  test("unknown: the service when no leading labels name one", () => {
    expect(read("nope.edge1.levee")).toBe("404 unknown service nope");
    expect(read("nope.edge.site-a.levee")).toBe(
      "404 unknown service: no service is named by the start of host nope.edge.site-a.levee",
    );
  });

  test("unknown: the node of each reading whose service is known", () => {
    expect(read("api.edge9.levee")).toBe("404 unknown node edge9");
    expect(read("api.edge.site-b.levee")).toBe("404 unknown node edge.site-b");
    expect(read("api.team-b.edge9.levee")).toBe(
      "404 unknown node team-b.edge9 (for service api), unknown node edge9 (for service api.team-b)",
    );
  });

  test("malformed: fewer than two labels, an empty label, or longer than two subdomains", () => {
    expect(read("edge1.levee")).toBe("400 host edge1.levee is not <service>.<node>.levee");
    expect(read("api..edge1.levee")).toBe("400 host api..edge1.levee is not <service>.<node>.levee");
    expect(read(".edge1.levee")).toBe("400 host .edge1.levee is not <service>.<node>.levee");
    const long = `${"a.".repeat(300)}b.levee`;
    expect(read(long)).toBe(
      "400 host is not <service>.<node>.levee: 601 characters before .levee, at most 507",
    );
  });
});

/** Where the forward proxy sends a request, as "service @ node:port path", or its refusal. */
function route(request: ProxyRequest): string {
  const result = targetOf(request, c);
  return result.ok
    ? `${result.service} @ ${result.node}:${result.port} ${result.path}`
    : `${result.status} ${result.error}`;
}

describe("targetOf with dotted names", () => {
  test("the forward proxy routes a qualified service on a dotted node, port and X-Levee-Node checked", () => {
    expect(route({ method: "GET", target: "http://api.team-b.edge.site-a.levee/x" })).toBe(
      "api.team-b @ edge.site-a:19200 /x",
    );
    expect(route({ method: "CONNECT", target: "api.cloud.kubeedge.levee:19100" })).toBe(
      "api @ cloud.kubeedge:19100 ",
    );
    expect(route({ method: "GET", target: "/", host: "api.edge.site-a.levee", node: "edge1" })).toBe(
      "400 X-Levee-Node edge1 contradicts host api.edge.site-a.levee",
    );
  });

  test("a dotted node name is also a plain host (absolute-form and X-Levee-Node)", () => {
    expect(route({ method: "GET", target: "http://edge.site-a:19100/" })).toBe("api @ edge.site-a:19100 /");
    expect(route({ method: "GET", target: "/", host: "localhost:19200", node: "Cloud.KubeEdge" })).toBe(
      "api.team-b @ cloud.kubeedge:19200 /",
    );
  });
});
