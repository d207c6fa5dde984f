// The dashboard's routes in-process (app.request, a real store, no browser): login and its
// refusals (wrong token, cross-site, too many failures), the session cookie's attributes, pages
// and data refused without a session, the pages' content and their live region alone.
import { afterAll, describe, expect, test } from "bun:test";
import { crossSiteProblem } from "../../../src/cloud/dashboard/guard.ts";
import { joinNode } from "../../../src/cloud/node-registry.ts";
import { UpgradeStore } from "../../../src/cloud/upgrade/upgrade-store.ts";
import { mosquittoHasher } from "../../../src/protocol/mosquitto-password.ts";
import { ADMIN_TOKEN, inProcessCloud } from "../../harness/cloud-api.ts";

const { app, store, plane } = inProcessCloud();
afterAll(() => store.close());
joinNode(
  store,
  mosquittoHasher,
  { name: "edge1", labels: {}, addresses: ["10.0.0.2"], agentVersion: "0.1.0", arch: "arm64" },
  () => {},
);
plane.apply([
  {
    apiVersion: "levee/v1",
    kind: "Service",
    metadata: { name: "camera", labels: {} },
    spec: { template: { command: ["run"], port: 8080 }, workers: [{ node: "edge1" }] },
  } as never,
]);

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
let client = 0;
/** A login from its own client address (the limiter counts per address). */
function login(token: string, headers: Record<string, string> = { "sec-fetch-site": "same-origin" }) {
  client++;
  return app.request(
    "/ui/login",
    {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      body: form({ token, next: "/ui/services" }),
    },
    { requestIP: () => ({ address: `10.1.0.${client}` }) },
  );
}
async function session(): Promise<string> {
  const res = await login(ADMIN_TOKEN);
  expect(res.status).toBe(303);
  return (res.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
}

describe("dashboard routes", () => {
  test("/ leads to the dashboard; without a session pages go to the login page, data is 401", async () => {
    expect((await app.request("/")).headers.get("location")).toBe("/ui");
    for (const path of [
      "/ui",
      "/ui/services",
      "/ui/events?node=edge1",
      "/ui/upgrades",
      "/ui/workers/camera/edge1/0",
      "/ui/x",
    ]) {
      const res = await app.request(path);
      expect(res.status, path).toBe(303);
      expect(res.headers.get("location"), path).toBe(`/ui/login?next=${encodeURIComponent(path)}`);
    }
    for (const path of [
      "/ui/data/live",
      "/ui/data/logs/camera?node=edge1",
      "/ui/data/traffic",
      "/ui/data/links",
    ]) {
      expect((await app.request(path)).status, path).toBe(401);
    }
    // The admin's bearer token is not a dashboard session.
    const bearer = await app.request("/ui", { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(bearer.status).toBe(303);
    // The stylesheet is no secret (the login page uses it).
    expect((await app.request("/ui/assets/dashboard.css")).status).toBe(200);
  });

  test("login: the cookie is HttpOnly, SameSite=Strict, Path=/; Secure over TLS; a wrong token is refused", async () => {
    const ok = await login(ADMIN_TOKEN);
    expect(ok.status).toBe(303);
    expect(ok.headers.get("location")).toBe("/ui/services");
    const cookie = ok.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/^levee_session=[A-Za-z0-9_-]{40,};/);
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Strict");
    expect(cookie).toContain("Path=/");
    expect(cookie).not.toContain("Secure");
    const tls = await login(ADMIN_TOKEN, { "sec-fetch-site": "same-origin", "x-forwarded-proto": "https" });
    expect(tls.headers.get("set-cookie")).toContain("Secure");
    const wrong = await login("lvadm_wrong");
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("set-cookie")).toBeNull();
    expect(await wrong.text()).toContain("That is not the admin token.");
  });

  test("a login from another site, or with neither Sec-Fetch-Site nor Origin, is refused", async () => {
    expect((await login(ADMIN_TOKEN, { "sec-fetch-site": "cross-site" })).status).toBe(403);
    expect((await login(ADMIN_TOKEN, { origin: "http://evil.example" })).status).toBe(403);
    expect((await login(ADMIN_TOKEN, {})).status).toBe(403);
    expect((await login(ADMIN_TOKEN, { origin: "http://localhost" })).status).toBe(303);
    expect(crossSiteProblem({ secFetchSite: "same-site", origin: undefined, host: "a" })).toContain(
      "same-site",
    );
    expect(crossSiteProblem({ secFetchSite: undefined, origin: "nonsense", host: "a" })).toContain(
      "not a URL",
    );
    expect(crossSiteProblem({ secFetchSite: undefined, origin: "http://a:1", host: "a:1" })).toBeUndefined();
  });

  test("only a dashboard path is where a login goes next", async () => {
    for (const next of ["https://evil.example/", "//evil.example", "/ui//evil", "/api/v1/nodes", "/ui\\x"]) {
      client++;
      const res = await app.request(
        "/ui/login",
        {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded", "sec-fetch-site": "same-origin" },
          body: form({ token: ADMIN_TOKEN, next }),
        },
        { requestIP: () => ({ address: `10.2.0.${client}` }) },
      );
      expect(res.headers.get("location"), next).toBe("/ui");
    }
  });

  test("failed logins are limited: the right token is refused too while a client waits", async () => {
    const from = { requestIP: () => ({ address: "10.9.9.9" }) };
    const attempt = (token: string) =>
      app.request(
        "/ui/login",
        {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded", "sec-fetch-site": "same-origin" },
          body: form({ token }),
        },
        from,
      );
    for (let i = 0; i < 5; i++) expect((await attempt("wrong")).status).toBe(401);
    const limited = await attempt(ADMIN_TOKEN);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  test("the pages show the cluster; with Levee-Partial only the live region", async () => {
    const cookie = await session();
    const map = await app.request("/ui", { headers: { cookie } });
    expect(map.status).toBe(200);
    expect(map.headers.get("content-security-policy")).toContain("default-src 'self'");
    expect(map.headers.get("cache-control")).toBe("no-store");
    const html = await map.text();
    expect(html).toStartWith("<!DOCTYPE html>");
    expect(html).toContain('data-node="edge1"');
    const services = await (await app.request("/ui/services", { headers: { cookie } })).text();
    expect(services).toContain('data-worker="camera/edge1/0"');
    expect(services).toContain("8080");
    const partial = await (
      await app.request("/ui/services", { headers: { cookie, "levee-partial": "1" } })
    ).text();
    expect(partial).toStartWith('<section class="service" data-service="camera">');
    expect(partial).not.toContain("<html");
    const events = await (await app.request("/ui/events?service=camera", { headers: { cookie } })).text();
    expect(events).toContain("Service/camera");
    expect(events).not.toContain("Node/edge1");
  });

  test("the services page shows a Dayu object and the Service it made", async () => {
    const jmes = {
      apiVersion: "sedna.io/v1alpha1",
      kind: "JointMultiEdgeService",
      metadata: { name: "controller", namespace: "dayu" },
      spec: {
        serviceConfig: { pos: "both", port: 9000 },
        edgeWorker: [
          {
            logLevel: { level: "INFO" },
            template: {
              spec: { nodeName: "edge1", containers: [{ name: "main", image: "repo/controller:1" }] },
            },
          },
        ],
        cloudWorker: {
          logLevel: { level: "INFO" },
          template: {
            spec: { nodeName: "cloud", containers: [{ name: "main", image: "repo/controller:1" }] },
          },
        },
      },
    };
    const applied = await app.request("/api/v1/apply", {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify([jmes]),
    });
    expect(applied.status, await applied.text()).toBe(200);
    const cookie = await session();
    const html = await (await app.request("/ui/services", { headers: { cookie } })).text();
    expect(html).toContain('data-dayu="JointMultiEdgeService/controller.dayu"');
    expect(html).toMatch(/JointMultiEdgeService\/controller\.dayu<\/td><td>Service\/[a-z0-9.-]+/);
    expect(html).toContain("made by JointMultiEdgeService/controller.dayu");
  });

  test("logout ends the session; logout from another site is refused", async () => {
    const cookie = await session();
    const forged = await app.request("/ui/logout", {
      method: "POST",
      headers: { cookie, "sec-fetch-site": "cross-site" },
    });
    expect(forged.status).toBe(403);
    expect((await app.request("/ui", { headers: { cookie } })).status).toBe(200);
    const out = await app.request("/ui/logout", {
      method: "POST",
      headers: { cookie, "sec-fetch-site": "same-origin" },
    });
    expect(out.status).toBe(303);
    expect(out.headers.get("set-cookie")).toContain("Max-Age=0");
    expect((await app.request("/ui", { headers: { cookie } })).status).toBe(303);
  });

  test("the live stream, with a session, is an event stream", async () => {
    const cookie = await session();
    const controller = new AbortController();
    const res = await app.request("/ui/data/live", { headers: { cookie }, signal: controller.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain("event: hello");
    controller.abort();
    await reader.cancel();
  });

  test("the upgrades page: none yet, then the rollout with each node's progress", async () => {
    const cookie = await session();
    expect(await (await app.request("/ui/upgrades", { headers: { cookie } })).text()).toContain(
      "No agent upgrade yet",
    );
    const upgrades = new UpgradeStore(store);
    upgrades.create(
      {
        id: "u-page",
        version: "9.9.9",
        binaries: [],
        keyId: "k",
        selector: "",
        maxUnavailable: "1",
        pauseMs: 0,
        timeoutSeconds: 60,
        allowDowngrade: false,
        includeCloud: false,
        nodes: [{ node: "edge1", from: "1.0.0" }],
      },
      Date.now(),
    );
    upgrades.report("u-page", "edge1", "rolled-back", "1.0.0", "exited at start", Date.now());
    const page = await (await app.request("/ui/upgrades", { headers: { cookie } })).text();
    expect(page).toContain("Rollout u-page to <strong>9.9.9</strong>");
    expect(page).toContain('data-testid="upgrade-state">rolled-back<');
    expect(page).toContain("exited at start");
    upgrades.setState("u-page", "aborted", "test", Date.now());
  });
});
