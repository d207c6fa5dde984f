// The data the dashboard's pages read (/ui/data/...), mounted through the API's route registry so
// the OpenAPI document lists them with their security (a dashboard session's cookie): the live
// stream, the traffic charts, the map's link rates and a worker's log. The pages themselves are
// HTML for browsers and stay out of the document.
import type { MiddlewareHandler } from "hono";
import type { Store } from "../../store/store.ts";
import type { ApiRoutes } from "../api/route-registry.ts";
import { logQuerySchema, readWorkerLog } from "../api/routes-logs.ts";
import type { LogStreams } from "../log-streams.ts";
import type { LiveFeed } from "./live-feed.ts";
import { liveStream } from "./live-route.ts";
import type { MapFlow } from "./map-layout.ts";
import type { TrafficRing } from "./traffic-ring.ts";
import { flowLabel, linkTitle } from "./views/map.tsx";

export interface DataRoutesDeps {
  store: Store;
  feed: LiveFeed;
  /** The session check for data (401 without one). */
  session: MiddlewareHandler;
  ring: TrafficRing | undefined;
  flows: () => MapFlow[];
  logs: LogStreams | undefined;
}

const common = { tag: "dashboard", auth: "session" } as const;

/**
 * One answer of the traffic data serves every session that asks until the next "traffic" change
 * (they ask together, on that change) or for this long: the charts of a large fleet are computed
 * at most once per change (at most two a second), not once per session.
 */
const SHARED_MS = 1000;

export function mountDataRoutes(routes: ApiRoutes, deps: DataRoutesDeps): void {
  const { session, ring } = deps;
  const version = () => deps.feed.trafficChanges;
  const charts = new Shared(version, () => {
    const now = Date.now();
    const services = ring ? ring.serviceNames(now).map((s) => ring.service(s, now)) : [];
    const links = ring ? ring.linkSeries(now) : { times: [], links: [] };
    return { services, links, reporting: ring !== undefined };
  });
  const rates = new Shared(version, () => ({
    links: deps.flows().map((f) => {
      const link = { ...f, kind: f.via === "direct" ? ("direct" as const) : ("relayed" as const) };
      return {
        from: f.from,
        to: f.to,
        kind: link.kind,
        label: flowLabel(link),
        title: linkTitle(link),
        perSecond: f.perSecond,
        bytesPerSecond: f.bytesPerSecond,
        errorsPerSecond: f.errorsPerSecond,
      };
    }),
  }));
  routes.add(
    {
      ...common,
      method: "get",
      path: "/data/live",
      summary: "What changed, as server-sent events (the pages refetch what they show)",
      responses: {
        200: {
          description: "the stream",
          body: {
            contentType: "text/event-stream",
            description:
              'events: `hello` once; `change` with `{"topics": [...]}` (nodes, workers, events, traffic) when what a page shows changed; `ping` every 15 s',
          },
        },
      },
    },
    session,
    (c) => liveStream(c, deps.feed),
  );
  routes.add(
    {
      ...common,
      method: "get",
      path: "/data/traffic",
      summary: "The traffic page's charts: the last 15 minutes per service and per link",
      responses: {
        200: "{services: [{service, times, nodes: [{node, requests, errors}], p50, p99}], links: {times, links: [{peer, node, via, requests, errors, bytesIn, bytesOut}]}, reporting} (rates per second per step; null: not reported yet)",
      },
    },
    session,
    (c) => c.body(charts.get(), 200, { "content-type": "application/json" }),
  );
  routes.add(
    {
      ...common,
      method: "get",
      path: "/data/links",
      summary: "The map's traffic links: rates over the last 10 s, with the map's label",
      responses: {
        200: "{links: [{from, to, kind (direct, relayed), label, title, perSecond, bytesPerSecond, errorsPerSecond}]}",
      },
    },
    session,
    (c) => c.body(rates.get(), 200, { "content-type": "application/json" }),
  );

  const logs = deps.logs;
  if (logs)
    routes.add(
      {
        ...common,
        method: "get",
        path: "/data/logs/:service",
        summary: "A worker's log, followed (the worker page), as GET /api/v1/logs/{service}",
        params: { service: "the service (name, or name.namespace outside default)" },
        query: logQuerySchema,
        responses: {
          200: {
            description: "the log",
            body: { contentType: "text/plain", description: "the log's lines" },
          },
          404: "no such node, service or worker",
          503: "the node is disconnected",
        },
      },
      session,
      (c) => readWorkerLog(c, logs, deps.store),
    );
}

/** A JSON answer made again when `version` moved or SHARED_MS passed, whoever asks. */
class Shared {
  private body = "";
  private at = -Infinity;
  private made = -1;

  constructor(
    private readonly version: () => number,
    private readonly make: () => unknown,
  ) {}

  get(): string {
    const now = performance.now();
    const version = this.version();
    if (version !== this.made || now - this.at >= SHARED_MS) {
      this.body = JSON.stringify(this.make());
      this.at = now;
      this.made = version;
    }
    return this.body;
  }
}
