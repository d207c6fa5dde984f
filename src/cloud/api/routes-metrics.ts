// Prometheus' routes on the cloud API (README "Metrics"), all behind the scrape guard (the admin
// token or the read-only metrics token, auth.ts):
//   GET /metrics                      the cloud's own metrics (src/cloud/metrics/cloud-metrics.ts)
//   GET /api/v1/metrics/targets       http_sd target groups: the cloud and every node (scrape-targets.ts)
//   GET /api/v1/nodes/NODE/metrics    a node agent's metrics, asked of the node over MQTT and
//                                     uploaded by it (log-streams.ts), so nodes behind NAT answer too
// A node's answer is bounded in size and time: Prometheus gets 502 or 504 rather than a cloud
// that buffers without end or waits forever.
import type { Context, MiddlewareHandler } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { isNodeName } from "../../protocol/topics.ts";
import { readTextWithin } from "../../runtime/bounded-read.ts";
import type { Store } from "../../store/store.ts";
import { readLiveness } from "../link/sync-store.ts";
import type { LogStreams } from "../log-streams.ts";
import type { CloudMetrics } from "../metrics/cloud-metrics.ts";
import { scrapeTargets } from "../metrics/scrape-targets.ts";
import { apiError } from "./errors.ts";
import type { ApiRoutes } from "./route-registry.ts";

/** Largest metrics text a node may upload. */
export const MAX_NODE_METRICS_BYTES = 8 * 1024 * 1024;
/** Time a node has to answer and upload its metrics (Prometheus' default scrape timeout is 10 s). */
export const NODE_METRICS_TIMEOUT_MS = 8_000;

const EXPOSITION = "text/plain; version=0.0.4; charset=utf-8";

export interface MetricsRouteDeps {
  metrics: CloudMetrics;
  store: Store;
  /** The cloud's own node name (the cloud's target). */
  cloudName: string;
  /** Relays a scrape to a node; without it node metrics are not served. */
  streams?: LogStreams | undefined;
  /** Who may scrape: the admin token or the metrics token. */
  scrape: MiddlewareHandler;
  timeoutMs?: number;
  maxBytes?: number;
}

const SCRAPE = "The admin token or the read-only metrics token (<data-dir>/metrics.token) as Bearer.";

/** `root`: routes at the top of the API port; `api`: under /api/v1. */
export function mountMetricsRoutes(root: ApiRoutes, api: ApiRoutes, deps: MetricsRouteDeps): void {
  const { metrics, store, scrape } = deps;
  root.add(
    {
      method: "get",
      path: "/metrics",
      summary: "The cloud's own metrics, in Prometheus' text format",
      description: SCRAPE,
      tag: "metrics",
      auth: "admin",
      responses: {
        200: {
          description: "Prometheus text exposition",
          body: { contentType: EXPOSITION, description: "metrics" },
        },
      },
    },
    scrape,
    async (c) =>
      c.body(await metrics.text(), 200, { "content-type": metrics.contentType, "cache-control": "no-store" }),
  );

  api.add(
    {
      method: "get",
      path: "/metrics/targets",
      summary: "Prometheus HTTP service discovery: the cloud and every node, each scraped through the cloud",
      description: SCRAPE,
      tag: "metrics",
      auth: "admin",
      responses: { 200: "http_sd target groups: [{targets, labels}]" },
    },
    scrape,
    (c) => {
      const url = new URL(c.req.url);
      const scheme = url.protocol === "https:" ? "https" : "http";
      const nodes = store.db
        .query<{ name: string; role: string; phase: string }, []>(
          "SELECT name, role, phase FROM nodes ORDER BY name",
        )
        .all();
      return c.json(scrapeTargets(url.host, scheme, deps.cloudName, deps.streams ? nodes : []));
    },
  );

  const streams = deps.streams;
  if (!streams) return;
  api.add(
    {
      method: "get",
      path: "/nodes/:name/metrics",
      summary:
        "A node agent's metrics, asked of the node over MQTT and uploaded by it (nodes behind NAT too)",
      description: SCRAPE,
      tag: "metrics",
      auth: "admin",
      params: { name: "the node" },
      responses: {
        200: {
          description: "Prometheus text exposition",
          body: { contentType: EXPOSITION, description: "metrics" },
        },
        502: "the node's answer was larger than the limit",
        503: "the node is not Ready",
        504: "the node did not answer in time",
      },
    },
    scrape,
    async (c) => {
      const name = c.req.param("name");
      if (!isNodeName(name)) return apiError(c, 400, `invalid node name ${JSON.stringify(name)}`);
      const [liveness] = readLiveness(store, name);
      if (!liveness) return apiError(c, 404, `node "${name}" not found`);
      if (!liveness.online || liveness.phase !== "Ready")
        return apiError(c, 503, `node ${name} is ${liveness.phase}: its metrics cannot be read now`);
      return scrapeNode(c, streams, name, deps.timeoutMs ?? NODE_METRICS_TIMEOUT_MS, deps.maxBytes);
    },
  );
}

/** Asks the node, reads its upload within the bounds, answers Prometheus. */
async function scrapeNode(
  c: Context,
  streams: LogStreams,
  name: string,
  timeoutMs: number,
  maxBytes = MAX_NODE_METRICS_BYTES,
): Promise<Response> {
  const deadline = AbortSignal.any([c.req.raw.signal, AbortSignal.timeout(timeoutMs)]);
  const answer = await streams.metrics(name, deadline);
  if (!answer.ok) return apiError(c, relayable(answer.status, deadline), answer.error);
  const body = answer.body;
  const stop = () => void body.cancel(`node ${name} took longer than ${timeoutMs} ms`).catch(() => {});
  deadline.addEventListener("abort", stop, { once: true });
  try {
    const read = await readTextWithin(new Response(body), `the metrics of node ${name}`, maxBytes);
    if (!read.ok) return apiError(c, 502, read.reason);
    return c.body(read.text, 200, { "content-type": EXPOSITION, "cache-control": "no-store" });
  } catch {
    return apiError(c, 504, `node ${name} did not finish uploading its metrics within ${timeoutMs} ms`);
  } finally {
    deadline.removeEventListener("abort", stop);
  }
}

/** The registry's status as one the API answers with (the deadline passing reads as 504). */
function relayable(status: number, deadline: AbortSignal): ContentfulStatusCode {
  if (status === 499 && deadline.aborted) return 504;
  return (status >= 400 && status <= 599 && status !== 499 ? status : 502) as ContentfulStatusCode;
}
