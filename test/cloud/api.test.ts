// The cloud API in-process (hono app.request, a real store, no sockets): auth, every error status,
// optimistic concurrency, join, and the event stream.
import { afterAll, describe, expect, test } from "bun:test";
import { MAX_BODY_BYTES } from "../../src/cloud/api/app.ts";
import { MAX_JSON_BODY_BYTES } from "../../src/cloud/api/errors.ts";
import { ADMIN_TOKEN as ADMIN, inProcessCloud } from "../harness/cloud-api.ts";

const published: string[] = [];
const { store, app } = inProcessCloud({
  onPlansChanged: (changes) => published.push(...changes.map((c) => c.node)),
});
afterAll(() => store.close());

const auth = { authorization: `Bearer ${ADMIN}` };
const call = (path: string, init: RequestInit = {}) =>
  app.request(`/api/v1${path}`, { ...init, headers: { ...auth, ...(init.headers ?? {}) } });
const json = async (res: Response) => (await res.json()) as Record<string, unknown>;

const service = (name: string, extra = "") =>
  `apiVersion: levee/v1\nkind: Service\nmetadata: {name: ${name}${extra}}\nspec:\n  template: {command: [run]}\n  workers: [{node: edge1}]\n`;

describe("cloud API", () => {
  test("every /api route needs the admin token", async () => {
    expect((await app.request("/api/v1/services")).status).toBe(401);
    const wrong = await app.request("/api/v1/services", { headers: { authorization: "Bearer nope" } });
    expect(wrong.status).toBe(401);
    expect(await json(wrong)).toEqual({ error: "invalid token" });
    expect((await call("/services")).status).toBe(200);
  });

  test("a join with a token, then the node's plan is published", async () => {
    const created = await json(
      await call("/tokens", { method: "POST", body: JSON.stringify({ uses: 1, ttl: "1h" }) }),
    );
    const join = await app.request("/api/v1/join", {
      method: "POST",
      body: JSON.stringify({ v: 1, token: created.token, node: { name: "edge1", addresses: ["10.0.0.2"] } }),
    });
    expect(join.status).toBe(201);
    const body = await json(join);
    expect(body.mqtt).toMatchObject({ url: "mqtt://127.0.0.1:1883", username: "edge1" });
    expect(published).toContain("edge1");
    // the same name again, without its credentials
    const again = await app.request("/api/v1/join", {
      method: "POST",
      body: JSON.stringify({ v: 1, token: created.token, node: { name: "edge1" } }),
    });
    expect(again.status).toBe(409);
    const bad = await app.request("/api/v1/join", {
      method: "POST",
      body: JSON.stringify({ v: 1, node: { name: "Bad_Name" } }),
    });
    expect(bad.status).toBe(400);
    expect((await json(bad)).issues).toEqual([expect.objectContaining({ path: "node.name" })]);
    const noToken = await app.request("/api/v1/join", {
      method: "POST",
      body: JSON.stringify({ v: 1, node: { name: "edge7" } }),
    });
    expect(noToken.status).toBe(401);
    // A refusal thrown inside the join transaction is answered with its reason and challenge.
    expect(noToken.headers.get("www-authenticate")).toBe('Bearer realm="levee-join"');
    expect(await json(noToken)).toEqual({
      error: "join refused: a join token is required for a new node (levee ctl token create)",
    });
  });

  test("a node named as Kubernetes allows (a DNS subdomain) joins, is labelled and read by that name", async () => {
    const created = await json(
      await call("/tokens", { method: "POST", body: JSON.stringify({ uses: 1, ttl: "1h" }) }),
    );
    const join = await app.request("/api/v1/join", {
      method: "POST",
      body: JSON.stringify({ v: 1, token: created.token, node: { name: "edge.site-a" } }),
    });
    expect(join.status).toBe(201);
    expect((await json(join)).mqtt).toMatchObject({ username: "edge.site-a" });
    const label = "apiVersion: levee/v1\nkind: Node\nmetadata: {name: edge.site-a, labels: {site: a}}\n";
    expect((await call("/apply", { method: "POST", body: label })).status).toBe(200);
    const node = (await json(await call("/nodes/edge.site-a"))) as {
      metadata: { labels: Record<string, string> };
    };
    expect(node.metadata.labels).toMatchObject({ site: "a" });
    const bad = await app.request("/api/v1/join", {
      method: "POST",
      body: JSON.stringify({ v: 1, node: { name: "edge..site-a" } }),
    });
    expect(bad.status).toBe(400);
    expect((await json(bad)).issues).toEqual([
      { path: "node.name", message: expect.stringMatching(/^must be a DNS subdomain/) },
    ]);
  });

  test("apply: created, unchanged, configured; resourceVersion conflicts are 409", async () => {
    const first = await json(await call("/apply", { method: "POST", body: service("a") }));
    expect(first.results).toEqual([{ kind: "Service", name: "a", outcome: "created", generation: 1 }]);
    expect((await json(await call("/apply", { method: "POST", body: service("a") }))).results).toEqual([
      { kind: "Service", name: "a", outcome: "unchanged", generation: 1 },
    ]);
    const stored = (await json(await call("/services/a"))) as { metadata: { resourceVersion: string } };
    const stale = service("a", `, resourceVersion: "${Number(stored.metadata.resourceVersion) + 5}"`);
    const conflict = await call("/apply", { method: "POST", body: stale.replace("[run]", "[run, --fast]") });
    expect(conflict.status).toBe(409);
    const current = service("a", `, resourceVersion: "${stored.metadata.resourceVersion}"`);
    const ok = await json(
      await call("/apply", { method: "POST", body: current.replace("[run]", "[run, --fast]") }),
    );
    expect(ok.results).toEqual([{ kind: "Service", name: "a", outcome: "configured", generation: 2 }]);
  });

  test("bad input is 4xx, never 500", async () => {
    expect((await call("/apply", { method: "POST", body: "kind: [" })).status).toBe(400);
    expect((await call("/apply", { method: "POST", body: "" })).status).toBe(400);
    expect((await call("/tokens", { method: "POST", body: "{not json" })).status).toBe(400);
    const ttl = await call("/tokens", { method: "POST", body: JSON.stringify({ ttl: "soon" }) });
    expect(ttl.status).toBe(400);
    expect((await json(ttl)).issues).toEqual([expect.objectContaining({ path: "ttl" })]);
    const huge = await call("/apply", { method: "POST", body: "x".repeat(MAX_BODY_BYTES + 1) });
    expect(huge.status).toBe(413);
    expect((await call("/services/nope")).status).toBe(404);
    expect((await call("/services/nope", { method: "DELETE" })).status).toBe(404);
    const node = await call("/apply", {
      method: "POST",
      body: "apiVersion: levee/v1\nkind: Node\nmetadata: {name: ghost, labels: {a: b}}\n",
    });
    expect(node.status).toBe(404);
    expect((await json(node)).issues).toEqual([expect.objectContaining({ path: "metadata.name" })]);
  });

  test("bodies nesting deeper than 64 levels are a 400 naming the limit, never a 500", async () => {
    const deepArray = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    const deepObject = `${'{"a":'.repeat(100_000)}1${"}".repeat(100_000)}`;
    const config = `{"apiVersion":"levee/v1","kind":"Config","metadata":{"name":"deep"},"data":${deepObject}}`;
    const applies: [string, string | undefined][] = [
      [deepArray, "application/json"],
      [deepArray, undefined],
      [config, "application/json"],
      ["[".repeat(100_000), "application/yaml"],
      [`${"- ".repeat(100_000)}x`, "application/yaml"],
      [`apiVersion: levee/v1\nkind: Config\nmetadata: {name: deep}\ndata: ${deepObject}\n`, undefined],
    ];
    for (const [body, type] of applies) {
      const res = await call("/apply", {
        method: "POST",
        body,
        headers: type ? { "content-type": type } : {},
      });
      expect(res.status).toBe(400);
      const answer = await json(res);
      expect(answer.error).toBe("invalid manifest; nothing was applied");
      expect(answer.issues).toEqual([
        {
          document: 0,
          path: "",
          message: expect.stringMatching(
            /^the manifest nests deeper than 64 levels \(at line \d+, column \d+\)$/,
          ),
        },
      ]);
    }
    for (const path of ["/tokens", "/join"]) {
      const res = await call(path, { method: "POST", body: `{"v":1,"node":${deepObject}}` });
      expect(res.status).toBe(400);
      expect(await json(res)).toEqual({
        error: "the request body nests deeper than 64 levels (at line 1, column 330)",
      });
    }
    // and the API still applies what is right
    const ok = await call("/apply", { method: "POST", body: service("after-deep") });
    expect(ok.status).toBe(200);
  });

  test("a JSON body over MAX_JSON_BODY_BYTES is a 413 before it is parsed", async () => {
    const body = JSON.stringify({ ttl: "1h", padding: "x".repeat(MAX_JSON_BODY_BYTES) });
    const res = await call("/tokens", { method: "POST", body });
    expect(res.status).toBe(413);
    expect(await json(res)).toEqual({
      error: `the request body is larger than ${MAX_JSON_BODY_BYTES} bytes`,
    });
  });

  test("events stream: the backlog, then new events as they happen", async () => {
    const res = await call("/events");
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let text = "";
    const readUntil = async (needle: string) => {
      const deadline = Date.now() + 3000;
      while (!text.includes(needle) && Date.now() < deadline) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
    };
    await readUntil('"name":"a"');
    expect(text).toContain('"reason":"Created"');
    expect((await call("/services/a", { method: "DELETE" })).status).toBe(200);
    await readUntil('"reason":"Deleted"');
    expect(text).toContain('"reason":"Deleted"');
    await reader.cancel();
  });
});
