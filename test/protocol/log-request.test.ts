// The log request message (src/protocol/log-request.ts): its topic and ACL, and decoding that never
// throws and refuses what does not belong.
import { describe, expect, test } from "bun:test";
import { mosquittoAclFile } from "../../src/cloud/mosquitto-config.ts";
import { maySubscribe } from "../../src/protocol/acl.ts";
import {
  decodeLogRequest,
  encodeLogRequest,
  isStreamId,
  logsTopic,
  newLogRequest,
  newMetricsRequest,
  newStreamId,
} from "../../src/protocol/log-request.ts";

describe("log request", () => {
  test("topic and ACL: a node subscribes to its own log requests only", () => {
    expect(logsTopic("edge1")).toBe("levee/v1/node/edge1/logs");
    expect(() => logsTopic("a/b")).toThrow(/invalid node name/);
    expect(maySubscribe("edge1", "levee/v1/node/edge1/logs")).toBe(true);
    expect(maySubscribe("edge1", "levee/v1/node/edge2/logs")).toBe(false);
    expect(maySubscribe("edge1", "levee/v1/node/+/logs")).toBe(false);
    expect(maySubscribe("levee-cloud", "levee/v1/node/edge1/logs")).toBe(true);
    expect(mosquittoAclFile()).toContain("pattern read levee/v1/node/%u/logs\n");
  });

  test("a metrics request travels the same way; one for another node or of an unknown type is refused", () => {
    const request = newMetricsRequest("edge1");
    expect(request).toMatchObject({ v: 1, type: "metrics", node: "edge1" });
    expect(isStreamId(request.id)).toBe(true);
    expect(decodeLogRequest("edge1", encodeLogRequest(request))).toEqual({ ok: true, request });
    expect(decodeLogRequest("edge2", encodeLogRequest(request))).toMatchObject({ ok: false });
    const unknownType = Buffer.from(JSON.stringify({ ...request, type: "shell" }));
    const decoded = decodeLogRequest("edge1", unknownType);
    expect(decoded.ok ? "" : decoded.reason).toStartWith("bad schema: type");
  });

  test("since, timestamps and previous are optional within v1; a since that is no time is refused", () => {
    const fields = { node: "edge1", service: "echo", index: 0, tail: null, follow: false };
    const plain = newLogRequest(fields);
    expect(decodeLogRequest("edge1", encodeLogRequest(plain))).toEqual({ ok: true, request: plain });
    const full = newLogRequest({
      ...fields,
      since: "2026-05-01T10:00:00.000Z",
      timestamps: true,
      previous: true,
    });
    expect(decodeLogRequest("edge1", encodeLogRequest(full))).toEqual({ ok: true, request: full });
    const bad = Buffer.from(JSON.stringify({ ...plain, since: "10m" }));
    const decoded = decodeLogRequest("edge1", bad);
    expect(decoded.ok ? "" : decoded.reason).toStartWith("bad schema: since");
  });

  test("round trip, with a fresh random stream id", () => {
    const request = newLogRequest({ node: "edge1", service: "echo", index: 2, tail: null, follow: true });
    expect(isStreamId(request.id)).toBe(true);
    expect(newStreamId()).not.toBe(newStreamId());
    expect(decodeLogRequest("edge1", encodeLogRequest(request))).toEqual({ ok: true, request });
  });

  test("a dotted node and a qualified service (svc.namespace): DNS subdomains; never a path", () => {
    const request = newLogRequest({
      node: "edge.site-a",
      service: "api.team-b",
      index: 0,
      tail: null,
      follow: false,
    });
    expect(logsTopic("edge.site-a")).toBe("levee/v1/node/edge.site-a/logs");
    expect(decodeLogRequest("edge.site-a", encodeLogRequest(request))).toEqual({ ok: true, request });
    for (const service of ["..", "a/b", "../etc", ".a", "Api"]) {
      const bad = Buffer.from(JSON.stringify({ ...request, service }));
      expect(decodeLogRequest("edge.site-a", bad)).toMatchObject({ ok: false });
    }
  });

  test("bad payloads are refused with a reason, never thrown", () => {
    const good = newLogRequest({ node: "edge1", service: "echo", index: 0, tail: 5, follow: false });
    const bad = (value: unknown) => decodeLogRequest("edge1", Buffer.from(JSON.stringify(value)));
    expect(decodeLogRequest("edge1", Buffer.from("{nope"))).toMatchObject({ ok: false });
    expect(bad(null)).toMatchObject({ ok: false, reason: "unknown version v=undefined" });
    expect(bad({ ...good, v: 2 })).toMatchObject({ ok: false, reason: "unknown version v=2" });
    expect(bad({ ...good, index: -1 })).toMatchObject({ ok: false });
    expect(bad({ ...good, id: "short" })).toMatchObject({ ok: false });
    expect(bad({ ...good, tail: "5" })).toMatchObject({ ok: false });
    expect(bad({ ...good, node: "edge2" })).toMatchObject({
      ok: false,
      reason: "node edge2 on a topic of edge1",
    });
    expect(decodeLogRequest("edge1", Buffer.alloc(2 * 1024 * 1024, 32))).toMatchObject({ ok: false });
  });

  test("a payload nesting 100,000 levels deep is refused with the limit, never a throw", () => {
    const payload = Buffer.from(
      `{"v":1,"node":"edge1","service":${'{"a":'.repeat(100_000)}1${"}".repeat(100_000)}}`,
    );
    expect(decodeLogRequest("edge1", payload)).toEqual({
      ok: false,
      reason: "the log request nests deeper than 64 levels (at line 1, column 348)",
    });
  });
});
