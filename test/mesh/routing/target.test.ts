import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { type ProxyRequest, parseAuthority, targetOf } from "../../../src/mesh/routing/target.ts";
import { cluster, node, service } from "./helpers.ts";

const c = cluster([
  service("api", { port: 19_100 }),
  service("redis", { port: 6_379, protocol: "tcp" }),
  service("web", { port: 80 }),
  service("tls", { port: 443, protocol: "tcp" }),
]);

const get = (target: string, extra: Partial<ProxyRequest> = {}): ProxyRequest => ({
  method: "GET",
  target,
  ...extra,
});

describe("targetOf", () => {
  const found: [string, ProxyRequest, { node: string; service: string; port: number; path: string }][] = [
    [
      "absolute-form by node name",
      get("http://edge3:19100/infer?x=1"),
      { node: "edge3", service: "api", port: 19_100, path: "/infer?x=1" },
    ],
    [
      "node name in any case, trailing dot",
      get("http://EDGE3.:19100/"),
      { node: "edge3", service: "api", port: 19_100, path: "/" },
    ],
    [
      "absolute-form by address",
      get("http://192.168.1.11:19100/a"),
      { node: "edge1", service: "api", port: 19_100, path: "/a" },
    ],
    [
      "IPv6 address",
      get("http://[fd00::13]:6379"),
      { node: "edge3", service: "redis", port: 6_379, path: "/" },
    ],
    ["no port means 80", get("http://edge2/x"), { node: "edge2", service: "web", port: 80, path: "/x" }],
    [
      "query without a path",
      get("http://edge2:19100?q"),
      { node: "edge2", service: "api", port: 19_100, path: "/?q" },
    ],
    [
      "fragment dropped",
      get("http://edge2:19100/p#frag"),
      { node: "edge2", service: "api", port: 19_100, path: "/p" },
    ],
    [
      "service.node.levee",
      get("http://api.edge1.levee/v1"),
      { node: "edge1", service: "api", port: 19_100, path: "/v1" },
    ],
    [
      "service.node.levee with its port",
      get("http://api.edge1.levee:19100/"),
      { node: "edge1", service: "api", port: 19_100, path: "/" },
    ],
    [
      "service.node.levee with the default port",
      get("http://api.edge1.levee:80/"),
      { node: "edge1", service: "api", port: 19_100, path: "/" },
    ],
    [
      "origin-form with Host",
      get("/x", { host: "edge3:19100" }),
      { node: "edge3", service: "api", port: 19_100, path: "/x" },
    ],
    [
      "origin-form with a .levee Host",
      get("/x", { host: "redis.cloud.levee" }),
      { node: "cloud", service: "redis", port: 6_379, path: "/x" },
    ],
    [
      "X-Levee-Node + Host port",
      get("/y", { host: "localhost:19100", node: "edge1" }),
      { node: "edge1", service: "api", port: 19_100, path: "/y" },
    ],
    [
      "X-Levee-Node by address",
      get("/y", { host: "localhost:19100", node: "127.0.1.13" }),
      { node: "edge3", service: "api", port: 19_100, path: "/y" },
    ],
    [
      "X-Levee-Node over an absolute URL's host",
      get("http://localhost:6379/", { node: "cloud" }),
      { node: "cloud", service: "redis", port: 6_379, path: "/" },
    ],
    [
      "X-Levee-Node agreeing with a .levee host",
      get("http://api.edge1.levee/", { node: "EDGE1" }),
      { node: "edge1", service: "api", port: 19_100, path: "/" },
    ],
    [
      "CONNECT host:port",
      { method: "CONNECT", target: "edge2:6379" },
      { node: "edge2", service: "redis", port: 6_379, path: "" },
    ],
    [
      "CONNECT to a .levee name",
      { method: "connect", target: "tls.edge2.levee:443" },
      { node: "edge2", service: "tls", port: 443, path: "" },
    ],
    [
      "CONNECT with X-Levee-Node",
      { method: "CONNECT", target: "localhost:443", node: "edge3" },
      { node: "edge3", service: "tls", port: 443, path: "" },
    ],
  ];
  for (const [name, request, want] of found) {
    test(name, () => {
      expect(targetOf(request, c)).toEqual({ ok: true, ...want });
    });
  }

  const refused: [string, ProxyRequest, 400 | 404, string][] = [
    ["unknown node", get("http://edge9:19100/"), 404, "unknown node edge9"],
    ["no service on the port", get("http://edge1:1234/"), 404, "no service on port 1234 (node edge1)"],
    ["unknown service in a .levee name", get("http://nope.edge1.levee/"), 404, "unknown service nope"],
    ["unknown node in a .levee name", get("http://api.edge9.levee/"), 404, "unknown node edge9"],
    [
      "a .levee name with three labels, none a service",
      get("http://a.b.c.levee/"),
      404,
      "unknown service: no service is named by the start of host a.b.c.levee",
    ],
    [
      "a .levee name with one label",
      get("http://edge1.levee/"),
      400,
      "host edge1.levee is not <service>.<node>.levee",
    ],
    [
      "a .levee name with a wrong port",
      get("http://api.edge1.levee:6379/"),
      400,
      "port 6379 is not the port of service api (19100)",
    ],
    [
      "X-Levee-Node contradicting the .levee host",
      get("http://api.edge1.levee/", { node: "edge2" }),
      400,
      "X-Levee-Node edge2 contradicts host api.edge1.levee",
    ],
    ["empty X-Levee-Node", get("/", { host: "edge1:19100", node: " " }), 400, "X-Levee-Node header is empty"],
    ["unknown X-Levee-Node", get("/", { host: "edge1:19100", node: "edge7" }), 404, "unknown node edge7"],
    ["https absolute-form", get("https://edge1:443/"), 400, "https:// through the proxy needs CONNECT"],
    ["other scheme", get("ftp://edge1/"), 400, "scheme ftp is not supported (http, or CONNECT)"],
    ["origin-form without Host", get("/x"), 400, "no Host header and no absolute URL"],
    [
      "garbage target",
      get("edge1:19100"),
      400,
      "request target edge1:19100 is neither a path nor an absolute URL",
    ],
    ["CONNECT without a port", { method: "CONNECT", target: "edge1" }, 400, "CONNECT needs host:port"],
    [
      "CONNECT with a path",
      { method: "CONNECT", target: "http://edge1:443/" },
      400,
      "CONNECT target http://edge1:443/ is not host:port",
    ],
    ["bad port", get("http://edge1:99999/"), 400, "port 99999 out of range in the URL"],
    ["non-numeric port", get("http://edge1:http/"), 400, 'bad port "http" in the URL'],
    ["user info", get("http://u:p@edge1:19100/"), 400, "user info is not supported in the URL"],
    [
      "unbracketed IPv6",
      get("http://fd00::13:6379/"),
      400,
      "IPv6 address fd00::13:6379 needs [brackets] in the URL",
    ],
    ["empty host", get("http://:19100/"), 400, 'bad host "" in the URL'],
  ];
  for (const [name, request, status, error] of refused) {
    test(`refused: ${name}`, () => {
      expect(targetOf(request, c)).toEqual({ ok: false, status, error, header: error });
    });
  }

  test("an address two nodes share is ambiguous, not guessed", () => {
    const shared = { ...c, nodes: [...c.nodes, node("edge4", { addresses: ["127.0.1.13"] })] };
    expect(targetOf(get("http://127.0.1.13:19100/"), shared)).toMatchObject({
      ok: false,
      status: 400,
      error: "address 127.0.1.13 belongs to several nodes (edge3, edge4)",
    });
  });

  test("never throws, and any answer names a catalog node and the service on the port asked for", () => {
    const text = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom("edge1", "edge3", "api.edge2.levee", "127.0.1.12", "[fd00::13]", "EDGE2."),
    );
    fc.assert(
      fc.property(
        fc.constantFrom("GET", "POST", "CONNECT"),
        fc.constantFrom("http://", "https://", "/", ""),
        text,
        fc.option(fc.constantFrom(":80", ":443", ":6379", ":19100", ":0", ":x"), { nil: "" }),
        fc.string({ maxLength: 20 }),
        fc.option(text, { nil: undefined }),
        fc.option(text, { nil: undefined }),
        (method, scheme, host, port, path, hostHeader, nodeHeader) => {
          const target = scheme === "/" ? `/${path}` : `${scheme}${host}${port}${scheme ? `/${path}` : ""}`;
          const result = targetOf({ method, target, host: hostHeader, node: nodeHeader }, c);
          if (!result.ok) {
            expect([400, 404]).toContain(result.status);
            expect(result.header).toMatch(/^[\x20-\x7e]*$/);
            return;
          }
          expect(c.nodes.map((n) => n.name)).toContain(result.node);
          const svc = c.services.find((s) => s.name === result.service);
          expect(svc?.port).toBe(result.port);
        },
      ),
      { numRuns: 2_000 },
    );
  });
});

describe("parseAuthority", () => {
  test("forms", () => {
    expect(parseAuthority("Edge1:80")).toEqual({ host: "edge1", port: 80 });
    expect(parseAuthority("edge1")).toEqual({ host: "edge1" });
    expect(parseAuthority("[::1]:8080")).toEqual({ host: "::1", port: 8080 });
    expect(parseAuthority("[::1]")).toEqual({ host: "::1" });
    expect(parseAuthority("[::1")).toEqual({ error: "unclosed [ in [::1" });
    expect(parseAuthority("[::1]x")).toEqual({ error: "bad text after ] in [::1]x" });
    expect(parseAuthority("")).toEqual({ error: "empty host" });
    expect(parseAuthority("a b:1")).toEqual({ error: 'bad host "a b"' });
    expect(parseAuthority("h:0")).toEqual({ error: "port 0 out of range" });
  });
});
