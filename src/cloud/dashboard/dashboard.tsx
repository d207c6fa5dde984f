// The web dashboard, served by the cloud on its API port: `/` leads to `/ui`, the login page and
// its form, the pages (cluster map, services, traffic, a worker, events), the data a page reads
// (/ui/data: the live stream, the traffic charts, the map's link rates, a worker's log) and the
// static files. Every page and all data need a dashboard
// session (guard.ts); a state-changing request must come from this origin. Pages are rendered on
// the server (hono/jsx); the browser script (assets/client.js) only refetches the live region when
// the live stream says it changed, and follows a worker's log.
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { JSX } from "hono/jsx/jsx-runtime";
import type { Store } from "../../store/store.ts";
import { tokenMatches } from "../admin-token.ts";
import { RouteRegistry } from "../api/route-registry.ts";
import type { ControlPlane } from "../control-plane.ts";
import type { LogStreams } from "../log-streams.ts";
import { UpgradeStore } from "../upgrade/upgrade-store.ts";
import { mountAssets } from "./assets.ts";
import { mountDataRoutes } from "./data-routes.ts";
import { clearSessionCookie, requireSession, sameOrigin, sessionId, setSessionCookie } from "./guard.ts";
import { LiveFeed } from "./live-feed.ts";
import { LoginLimiter } from "./login-limiter.ts";
import type { MapFlow } from "./map-layout.ts";
import { DashboardSessions } from "./sessions.ts";
import { readDayu, readEvents, readNodes, readServices } from "./snapshot.ts";
import type { TrafficRing } from "./traffic-ring.ts";
import { EventFilterForm, EventList } from "./views/events.tsx";
import { Page, type PageProps } from "./views/layout.tsx";
import { LoginPage } from "./views/login.tsx";
import { ClusterMap } from "./views/map.tsx";
import { ServicesView } from "./views/services.tsx";
import { TrafficFrame } from "./views/traffic.tsx";
import { UpgradeView } from "./views/upgrades.tsx";
import { WorkerLog, WorkerStatus } from "./views/worker.tsx";

export interface DashboardDeps {
  store: Store;
  plane: ControlPlane;
  adminToken: string;
  /** Log streams from nodes; without them a worker's page has no log. */
  logs?: LogStreams;
  /** Relay legs a node holds open at the cloud (the map's relay links); default none known. */
  relayLegs?: (node: string) => number;
  sessions?: DashboardSessions;
  limiter?: LoginLimiter;
  feed?: LiveFeed;
  /** Where the data routes are described (the API's OpenAPI document); default: a registry of their own. */
  registry?: RouteRegistry;
  /** The nodes' traffic reports, and how to ask for them (the watch signal). */
  traffic?: { ring: TrafficRing; onWatching: (watching: boolean) => void };
}

/** What every dashboard response carries: no framing, no third-party anything, no sniffing. */
const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy":
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
  "x-frame-options": "DENY",
};

/** The login form's body: a token and where to go next. */
const LOGIN_BODY_MAX_BYTES = 4096;

export function mountDashboard(
  app: Hono,
  deps: DashboardDeps,
): { feed: LiveFeed; sessions: DashboardSessions } {
  const { store, plane } = deps;
  const sessions = deps.sessions ?? new DashboardSessions();
  const limiter = deps.limiter ?? new LoginLimiter();
  const traffic = deps.traffic;
  const feed =
    deps.feed ??
    new LiveFeed({ store, plane, ...(traffic ? { onWatching: (w: boolean) => traffic.onWatching(w) } : {}) });
  if (traffic) traffic.ring.onRecord = () => feed.trafficArrived();
  const flows = (): MapFlow[] =>
    (traffic?.ring.linkRates(Date.now()) ?? []).map((l) => ({
      from: l.peer,
      to: l.node,
      via: l.via,
      perSecond: l.perSecond,
      errorsPerSecond: l.errorsPerSecond,
      bytesPerSecond: l.bytesInPerSecond + l.bytesOutPerSecond,
    }));
  const relayLegs = deps.relayLegs ?? (() => 0);
  const page = requireSession(sessions, "page");
  const data = requireSession(sessions, "data");
  const ui = new Hono();

  ui.use("*", async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(name, value);
  });
  mountAssets(ui);

  ui.get("/login", (c) => {
    const next = safeNext(c.req.query("next"));
    if (sessions.touch(sessionId(c))) return c.redirect(next, 303);
    return documentOf(c, <LoginPage next={next} />);
  });
  const loginLimit = bodyLimit({
    maxSize: LOGIN_BODY_MAX_BYTES,
    onError: (c) => c.text("login form too large", 413),
  });
  ui.post("/login", sameOrigin, loginLimit, async (c) => {
    const client = clientAddress(c);
    const wait = limiter.retryAfterSeconds(client);
    const form = await c.req.parseBody();
    const next = safeNext(typeof form.next === "string" ? form.next : undefined);
    if (wait > 0) {
      c.header("retry-after", String(wait));
      return documentOf(
        c,
        <LoginPage next={next} error={`Too many failed logins: try again in ${wait} s.`} />,
        429,
      );
    }
    const token = typeof form.token === "string" ? form.token.trim() : "";
    if (!tokenMatches(token, deps.adminToken)) {
      limiter.failed(client);
      return documentOf(c, <LoginPage next={next} error="That is not the admin token." />, 401);
    }
    setSessionCookie(c, sessions.create(), sessions.cookieMaxAgeSeconds);
    return c.redirect(next, 303);
  });
  ui.post("/logout", sameOrigin, (c) => {
    sessions.end(sessionId(c));
    clearSessionCookie(c);
    return c.redirect("/ui/login", 303);
  });

  const render = (c: Context, props: Omit<PageProps, "children">, live: JSX.Element) =>
    c.req.header("levee-partial") ? c.html(live) : documentOf(c, <Page {...props}>{live}</Page>);

  ui.get("/", page, (c) =>
    render(
      c,
      { title: "Cluster", current: "map", topics: ["nodes"] },
      <ClusterMap nodes={readNodes(store)} relayLegs={relayLegs} flows={flows()} now={Date.now()} />,
    ),
  );
  ui.get("/services", page, (c) =>
    render(
      c,
      { title: "Services", current: "services", topics: ["workers", "nodes"] },
      <ServicesView services={readServices(store, plane)} dayu={readDayu(store, plane)} />,
    ),
  );
  ui.get("/traffic", page, (c) =>
    render(
      c,
      // No topics: the live region is never refetched; the charts refetch their own data.
      { title: "Traffic", current: "traffic", topics: [], scripts: ["uplot.js"], styles: ["uplot.css"] },
      <TrafficFrame />,
    ),
  );
  ui.get("/events", page, (c) => {
    const node = c.req.query("node") || undefined;
    const service = c.req.query("service") || undefined;
    return render(
      c,
      {
        title: "Events",
        current: "events",
        topics: ["events"],
        // The filter stays out of the live region: a refetch must not reset a half-made choice.
        before: (
          <EventFilterForm
            nodes={readNodes(store).map((n) => n.name)}
            services={readServices(store, plane).map((s) => s.name)}
            {...(node ? { node } : {})}
            {...(service ? { service } : {})}
          />
        ),
      },
      <EventList events={readEvents(store, { node, service })} />,
    );
  });
  ui.get("/upgrades", page, (c) => {
    const upgrades = new UpgradeStore(store);
    const rollout = upgrades.current();
    return render(
      c,
      { title: "Upgrades", current: "upgrades", topics: ["nodes"] },
      <UpgradeView rollout={rollout} nodes={rollout ? upgrades.nodes(rollout.id) : []} />,
    );
  });
  ui.get("/workers/:service/:node/:index", page, (c) => {
    const { service, node } = c.req.param();
    const index = Number(c.req.param("index"));
    const worker = readServices(store, plane)
      .find((s) => s.name === service)
      ?.workers.find((w) => w.node === node && w.index === index);
    const events = [...readEvents(store, { service, limit: 50 }), ...readEvents(store, { node, limit: 50 })]
      .sort((a, b) => b.id - a.id)
      .filter((e, i, all) => i === 0 || all[i - 1]?.id !== e.id);
    return render(
      c,
      {
        title: `${service} on ${node} #${Number.isInteger(index) ? index : "?"}`,
        current: "worker",
        topics: ["workers", "events"],
        after: deps.logs ? <WorkerLog service={service} node={node} index={index} /> : undefined,
      },
      <WorkerStatus worker={worker} events={events} />,
    );
  });

  mountDataRoutes((deps.registry ?? new RouteRegistry()).on(ui, "/ui"), {
    store,
    feed,
    session: data,
    ring: traffic?.ring,
    flows,
    logs: deps.logs,
  });
  ui.all("/data/*", data, (c) => c.json({ error: `no such endpoint: ${c.req.method} ${c.req.path}` }, 404));
  ui.all("*", page, (c) => c.text(`no such page: ${c.req.path}`, 404));

  app.get("/", (c) => c.redirect("/ui", 302));
  app.route("/ui", ui);
  return { feed, sessions };
}

/** A whole page: the doctype (standards mode), then the element. */
function documentOf(c: Context, element: JSX.Element, status: 200 | 401 | 429 = 200): Response {
  return c.html(`<!DOCTYPE html>${element.toString()}`, status);
}

/** Where to go after login: a dashboard path only (never another site). */
function safeNext(next: string | undefined): string {
  return next && /^\/ui(\/[^/\\]|$|\?|\/$)/.test(next) && !next.includes("//") ? next : "/ui";
}

/** The client's address, for the login limiter (Bun's server is the app's env). */
function clientAddress(c: Context): string {
  const server = c.env as { requestIP?: (req: Request) => { address: string } | null } | undefined;
  try {
    return server?.requestIP?.(c.req.raw)?.address ?? "unknown";
  } catch {
    return "unknown";
  }
}
