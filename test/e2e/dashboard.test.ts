// The web dashboard in a real browser: Debian's chromium driven by playwright-core against a real
// cloud and two edges. Log in; the map shows the three nodes Ready with their links; a service
// applied through the API appears with its workers without a reload; a killed worker's restarts
// go up; a stopped edge turns Disconnected, then Ready when it is back; a worker's log shows a new
// line as it is written; under mesh load the traffic charts move and the map's links show requests,
// bytes and errors; without the session cookie every page and data endpoint is refused.
// Each view is saved as a screenshot (the README shows the ones in docs/dashboard/, made with
// LEVEE_SCREENSHOTS=docs/dashboard). Without a chromium on this host the tests are skipped, saying
// so (CI installs it: .ci/run).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import {
  applyManifest,
  type Cluster,
  httpWorkerService,
  loggedStep,
  REPO_ROOT,
  routesApplied,
  startCluster,
  waitUntil,
} from "../harness/cluster.ts";

const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));
// Where the screenshots go: .data/ (ignored by git) unless LEVEE_SCREENSHOTS names a folder
// (LEVEE_SCREENSHOTS=docs/dashboard refreshes the README's), so a test run leaves the tree clean.
const SHOTS = join(REPO_ROOT, process.env.LEVEE_SCREENSHOTS ?? ".data/screenshots/dashboard");
const MESH_PORT = 19_500 + (process.pid % 400);
if (!CHROMIUM)
  console.warn("dashboard browser tests skipped: no chromium (/usr/bin/chromium); apt-get install chromium");

interface AgentWorker {
  service: string;
  index: number;
  pid: number | null;
}

describe.skipIf(!CHROMIUM)("the dashboard in a browser", () => {
  let c: Cluster;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    c = await startCluster({ edges: 2 });
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: process.getuid?.() === 0 ? ["--no-sandbox"] : [],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    mkdirSync(SHOTS, { recursive: true });
  }, 60_000);
  afterAll(async () => {
    console.log(`dashboard screenshots: ${SHOTS}`);
    await browser?.close();
    await c?.destroy();
  });

  const step = loggedStep(() => c);
  const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  const phaseOf = (node: string) => page.locator(`svg.map g[data-node="${node}"]`).getAttribute("data-phase");
  /** Marks the page; `stillSamePage` is true only if it was not reloaded since. */
  const mark = () => page.evaluate(() => Object.assign(globalThis, { leveeMark: true }));
  const stillSamePage = () => page.evaluate(() => (globalThis as { leveeMark?: boolean }).leveeMark === true);

  test(
    "without a session every page and data endpoint is refused",
    step(async () => {
      for (const path of ["/ui", "/ui/services", "/ui/events", "/ui/workers/web/edge1/0", "/ui/nope"]) {
        const res = await fetch(`${c.cloud.apiUrl}${path}`, { redirect: "manual" });
        expect(res.status, path).toBe(303);
        expect(res.headers.get("location"), path).toStartWith("/ui/login?next=");
      }
      for (const path of ["/ui/data/live", "/ui/data/logs/web?node=edge1", "/ui/data/other"]) {
        const res = await fetch(`${c.cloud.apiUrl}${path}`);
        expect(res.status, path).toBe(401);
      }
      const forged = await fetch(`${c.cloud.apiUrl}/ui`, {
        headers: { cookie: "levee_session=not-a-session" },
        redirect: "manual",
      });
      expect(forged.status).toBe(303);
    }),
  );

  test(
    "log in with the admin token; the map shows the three nodes Ready and their links",
    step(async () => {
      await page.goto(`${c.cloud.apiUrl}/`);
      expect(page.url()).toContain("/ui/login");
      await shot("login");
      await page.fill('input[name="token"]', "wrong-token");
      await page.click('button[type="submit"]');
      await page.getByText("That is not the admin token.").waitFor();
      await page.fill('input[name="token"]', c.cloud.adminToken);
      await page.click('button[type="submit"]');
      await page.waitForURL(/\/ui$/);
      const cookie = (await page.context().cookies()).find((k) => k.name === "levee_session");
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/" });
      await page.locator('[data-testid="ready-count"]', { hasText: "3" }).waitFor({ timeout: 15_000 });
      for (const node of ["cloud", "edge1", "edge2"]) expect(await phaseOf(node)).toBe("Ready");
      expect(await page.locator('svg.map line[data-link$="-sync"]').count()).toBe(2);
      await page.locator("#live-state.ok").waitFor();
      await shot("map");
      await page.setViewportSize({ width: 820, height: 1180 });
      await shot("map-tablet");
      await page.setViewportSize({ width: 1280, height: 860 });
    }),
    60_000,
  );

  test(
    "a service applied through the API appears with its workers, without a reload",
    step(async () => {
      await page.goto(`${c.cloud.apiUrl}/ui/services`);
      await page.locator("#live-state.ok").waitFor();
      await mark();
      await applyManifest(c, httpWorkerService("web", [{ node: "edge1" }, { node: "edge2" }]));
      const ready = page.locator('section[data-service="web"] [data-testid="worker-phase"].ok');
      await waitUntil("both workers shown Running", async () => (await ready.count()) === 2, 20_000);
      expect(await stillSamePage()).toBe(true);
      await shot("services");
    }),
    60_000,
  );

  test(
    "a killed worker's restarts go up on the page",
    step(async () => {
      const edge = c.edges[0] as Cluster["edges"][number];
      const res = await fetch(`${edge.agentUrl}/v1/workers?service=web`);
      const worker = ((await res.json()) as { items: AgentWorker[] }).items[0];
      expect(worker?.pid).toBeNumber();
      const restarts = page.locator('tr[data-worker="web/edge1/0"] [data-testid="restarts"]');
      expect(await restarts.textContent()).toBe("0");
      process.kill(worker?.pid as number, "SIGKILL");
      await waitUntil(
        "restarts shown as 1 or more",
        async () => Number(await restarts.textContent()) >= 1,
        20_000,
      );
      expect(await stillSamePage()).toBe(true);
    }),
    60_000,
  );

  test(
    "a stopped edge turns Disconnected on the map, then Ready again",
    step(async () => {
      await page.goto(`${c.cloud.apiUrl}/ui`);
      await page.locator("#live-state.ok").waitFor();
      await mark();
      const edge = c.edges[1] as Cluster["edges"][number];
      await edge.stop();
      await waitUntil(
        "edge2 shown Disconnected",
        async () => (await phaseOf("edge2")) === "Disconnected",
        20_000,
      );
      await shot("map-disconnected");
      await edge.restart();
      await waitUntil("edge2 shown Ready again", async () => (await phaseOf("edge2")) === "Ready", 30_000);
      expect(await stillSamePage()).toBe(true);
    }),
    90_000,
  );

  test(
    "a worker's page follows its log: a new line arrives",
    step(async () => {
      await page.goto(`${c.cloud.apiUrl}/ui/workers/web/edge1/0`);
      const log = page.locator("#log");
      await waitUntil("the log shows the worker's first line", async () =>
        ((await log.textContent()) ?? "").includes("listening on"),
      );
      const edge = c.edges[0] as Cluster["edges"][number];
      const res = await fetch(`${edge.agentUrl}/v1/workers?service=web`);
      const worker = ((await res.json()) as { items: AgentWorker[] }).items[0];
      process.kill(worker?.pid as number, "SIGHUP");
      await waitUntil("the new line shown", async () =>
        ((await log.textContent()) ?? "").includes("SIGHUP 1"),
      );
      await shot("worker");
    }),
    60_000,
  );

  test(
    "under load the traffic charts move and the map shows the traffic between nodes",
    step(async () => {
      // A mesh service with its worker on edge2 only: requests to edge1's and the cloud's service
      // port go to edge2 through the tunnel.
      await applyManifest(
        c,
        httpWorkerService("echo", [{ node: "edge2" }], {}).replace(
          '"workers":',
          `"mesh":{"port":${MESH_PORT},"protocol":"http","fallback":"any"},"workers":`,
        ),
      );
      await waitUntil("the echo routes applied", () => routesApplied(c, "echo"), 30_000);
      await waitUntil(
        "edge1's echo port answers (through the tunnel)",
        async () => (await fetch(`http://${c.edges[0]?.address}:${MESH_PORT}/health`)).ok,
        30_000,
      );
      await page.goto(`${c.cloud.apiUrl}/ui/traffic`);
      await page.locator("#live-state.ok").waitFor();
      let load = true;
      // Once set: about one request in five answers 500 (the links' errors).
      let failSome = false;
      const loader = (async () => {
        while (load) {
          await Promise.all(
            [c.edges[0]?.address, c.cloud.address].map((a) =>
              fetch(
                `http://${a}:${MESH_PORT}/${failSome && Math.random() < 0.2 ? "status?code=500" : "health"}`,
              )
                .then((r) => r.arrayBuffer())
                .catch(() => undefined),
            ),
          );
          await Bun.sleep(20);
        }
      })();
      try {
        const echo = page.locator('#traffic section[data-service="echo"]');
        await waitUntil(
          "the echo charts show requests",
          async () => Number((await echo.getAttribute("data-requests").catch(() => null)) ?? 0) > 0,
          30_000,
        );
        expect(await echo.locator(".chart").count()).toBe(3);
        const links = page.locator('#traffic section[data-section="links"]');
        const linkTotal = async (what: string) =>
          Number((await links.getAttribute(`data-${what}`).catch(() => null)) ?? 0);
        await waitUntil("the links' charts show bytes", async () => (await linkTotal("bytes")) > 0, 30_000);
        expect(await links.locator(".chart").count()).toBe(3);
        expect(await linkTotal("errors")).toBe(0);
        // A change shows within about 2 s: the report interval (2 s), then the live stream's push.
        const t0 = Date.now();
        failSome = true;
        await waitUntil("the links' charts show errors", async () => (await linkTotal("errors")) > 0, 10_000);
        const shownAfter = Date.now() - t0;
        console.log(`errors shown on the traffic page ${shownAfter} ms after they began`);
        expect(shownAfter).toBeLessThanOrEqual(3000);
        await shot("traffic");
        await page.goto(`${c.cloud.apiUrl}/ui`);
        const rate = page.locator('svg.map text.rate[data-rate="edge1-edge2"]');
        await waitUntil("the map shows traffic to edge2", async () => (await rate.count()) > 0, 20_000);
        await waitUntil(
          "the map's link shows bytes/s and errors/s",
          async () =>
            Number(await rate.getAttribute("data-bytes")) > 0 &&
            Number(await rate.getAttribute("data-errors")) > 0,
          20_000,
        );
        expect(await rate.textContent()).toMatch(/\/s · [\d.]+ (B|KiB|MiB)\/s · [\d.]+ err\/s/);
        await shot("map-traffic");
      } finally {
        load = false;
        await loader;
      }
    }),
    90_000,
  );

  test(
    "the events timeline, filtered by node",
    step(async () => {
      await page.goto(`${c.cloud.apiUrl}/ui/events`);
      await page.locator("ol.events li").first().waitFor();
      await shot("events");
      await page.selectOption('select[name="node"]', "edge2");
      await page.click('form.filter button[type="submit"]');
      await page.waitForURL(/node=edge2/);
      const whats = await page.locator("ol.events li").allTextContents();
      expect(whats.length).toBeGreaterThan(0);
      for (const text of whats) expect(text).toContain("edge2");
      // Logged out: the pages are refused again.
      await page.click('header form button[type="submit"]');
      await page.waitForURL(/\/ui\/login/);
      await page.goto(`${c.cloud.apiUrl}/ui/services`);
      expect(page.url()).toContain("/ui/login");
    }),
    60_000,
  );
});
