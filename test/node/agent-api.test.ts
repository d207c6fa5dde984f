// The local agent API's answers and who may have them: /v1/plan shows env values and Config data
// only as sizes unless the agent token comes with the request; served on an address other hosts
// reach, every route but the probes needs the token from callers that are not on loopback. A method
// a path does not serve is a 405 with Allow.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { networkInterfaces } from "node:os";
import { startAgentApi } from "../../src/node/agent-api.ts";
import { acceptPlan } from "../../src/node/link/plan-store.ts";
import { redactPlan } from "../../src/node/plan-redaction.ts";
import { Readiness } from "../../src/runtime/health.ts";
import type { Server } from "../../src/runtime/serve.ts";
import { openStore, type Store } from "../../src/store/store.ts";
import { makeTempDir } from "../harness/cluster.ts";

const SECRET_ENV = "s3cr3t-env-value";
const SECRET_FILE = "password: hunter2-in-a-config";
// Plans carry Config files by reference; a hash of a short secret can be guessed offline.
const SECRET_FILE_SHA = createHash("sha256").update(SECRET_FILE).digest("hex");
const TOKEN = "lvagt_test-token-that-is-long-enough-0123456789";

const plan = {
  node: "edge1",
  services: [
    {
      name: "web",
      uid: "u1",
      generation: 1,
      workers: [{ index: 0, template: { command: ["sleep", "1"], env: { API_KEY: SECRET_ENV, EMPTY: "" } } }],
    },
  ],
  configFiles: { app: { "app.conf": { sha256: SECRET_FILE_SHA, size: 29 } } },
};

test("redactPlan keeps names and sizes, never the values", () => {
  const redacted = redactPlan(plan);
  const text = JSON.stringify(redacted);
  expect(text).not.toContain(SECRET_ENV);
  expect(text).not.toContain(SECRET_FILE_SHA);
  expect(redacted).toEqual({
    ...plan,
    services: [
      {
        ...plan.services[0],
        workers: [
          {
            index: 0,
            template: {
              command: ["sleep", "1"],
              env: { API_KEY: "(redacted: 16 bytes)", EMPTY: "(redacted: 0 bytes)" },
            },
          },
        ],
      },
    ],
    configFiles: { app: { "app.conf": { sha256: "(redacted)", size: 29 } } },
  });
  expect(plan.services[0]?.workers[0]?.template.env.API_KEY).toBe(SECRET_ENV); // the input is untouched
});

/** A non-loopback IPv4 address of this machine, if it has one. */
const external = Object.values(networkInterfaces())
  .flatMap((list) => list ?? [])
  .find((a) => a.family === "IPv4" && !a.internal)?.address;

describe("the agent API on 0.0.0.0 (--agent-address)", () => {
  let store: Store;
  let server: Server;
  const url = (host: string, path: string) => `http://${host}:${server.port}${path}`;
  const bearer = { authorization: `Bearer ${TOKEN}` };

  beforeAll(() => {
    store = openStore({ dataDir: makeTempDir(), mode: "edge" });
    acceptPlan(store, { epoch: "e1", revision: 1, hash: "h1", plan });
    server = startAgentApi(
      { host: "0.0.0.0", port: 0 },
      {
        readiness: new Readiness(),
        identity: { mode: "edge" },
        store,
        workers: () => undefined,
        agentToken: TOKEN,
      },
    );
  });
  afterAll(() => {
    server.stop(true);
    store.close();
  });

  test("from loopback: no token needed, /v1/plan redacted; with the token the plan as stored", async () => {
    const res = await fetch(url("127.0.0.1", "/v1/plan"));
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain(SECRET_ENV);
    expect(text).not.toContain("hunter2");
    expect(text).toContain('"API_KEY":"(redacted: 16 bytes)"');
    const full = (await (await fetch(url("127.0.0.1", "/v1/plan"), { headers: bearer })).json()) as {
      plan: typeof plan;
    };
    expect(full.plan).toEqual(plan);
    const wrong = await fetch(url("127.0.0.1", "/v1/plan"), { headers: { authorization: "Bearer nope" } });
    expect(await wrong.text()).not.toContain(SECRET_ENV);
    expect((await fetch(url("127.0.0.1", "/v1/workers"))).status).toBe(404); // no supervisor: not 401
  });

  test("a method a path does not serve: 405 with Allow; a path that is no endpoint: 404", async () => {
    const post = await fetch(url("127.0.0.1", "/v1/plan"), { method: "POST", body: "{}" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    expect(((await post.json()) as { error: string }).error).toBe(
      "method POST is not allowed on /v1/plan; it answers GET, HEAD",
    );
    const probe = await fetch(url("127.0.0.1", "/healthz"), { method: "DELETE" });
    expect(probe.status).toBe(405);
    expect(probe.headers.get("allow")).toBe("GET, HEAD");
    const none = await fetch(url("127.0.0.1", "/v1/nope"), { method: "POST" });
    expect(none.status).toBe(404);
    expect(none.headers.get("allow")).toBeNull();
  });

  test.skipIf(!external)("from another address: 401 without the token, except the probes", async () => {
    const host = external as string;
    for (const path of ["/v1/plan", "/v1/workers", "/v1/catalog", "/metrics", "/nope"]) {
      const res = await fetch(url(host, path));
      expect(res.status, path).toBe(401);
      expect(res.headers.get("www-authenticate")).toContain("Bearer");
      expect(((await res.json()) as { error: string }).error).toContain("agent.token");
    }
    expect((await fetch(url(host, "/v1/plan"), { headers: { authorization: "Bearer nope" } })).status).toBe(
      401,
    );
    expect((await fetch(url(host, "/healthz"))).status).toBe(200);
    expect((await fetch(url(host, "/readyz"))).status).toBe(200);
    const full = await fetch(url(host, "/v1/plan"), { headers: bearer });
    expect(full.status).toBe(200);
    expect(((await full.json()) as { plan: typeof plan }).plan).toEqual(plan);
  });
});
