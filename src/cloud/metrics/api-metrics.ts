// The cloud API's request metrics: one hono middleware, mounted first, that counts every request
// by method, route and status and times it to its response headers (a streamed log or backup is
// timed until it starts). The route is the pattern that answered (/api/v1/nodes/:name), never the
// raw path, so a scanner trying random paths adds no series: an unmatched path counts as
// route="(unmatched)".
//   levee_http_requests_total{method,route,status}
//   levee_http_request_duration_seconds{method,route}
import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import { Counter, Histogram, type Registry } from "prom-client";

const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Methods counted by name; anything else is "other" (the method is the client's choice). */
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

export const UNMATCHED_ROUTE = "(unmatched)";

export class ApiMetrics {
  private readonly requests: Counter<"method" | "route" | "status">;
  private readonly duration: Histogram<"method" | "route">;

  constructor(registry: Registry) {
    this.requests = new Counter({
      name: "levee_http_requests_total",
      help: "Cloud API requests by method, route pattern and status",
      labelNames: ["method", "route", "status"],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: "levee_http_request_duration_seconds",
      help: "Cloud API request duration until the response headers, by method and route pattern",
      labelNames: ["method", "route"],
      buckets: DURATION_BUCKETS,
      registers: [registry],
    });
  }

  record(method: string, route: string, status: number, seconds: number): void {
    const m = METHODS.has(method) ? method : "other";
    this.requests.inc({ method: m, route, status: String(status) });
    this.duration.observe({ method: m, route }, seconds);
  }

  /** The middleware (mounted on the whole app, before every route). */
  middleware(): MiddlewareHandler {
    return async (c, next) => {
      const start = performance.now();
      try {
        await next();
      } finally {
        this.record(c.req.method, routeOf(c), c.res.status, (performance.now() - start) / 1000);
      }
    };
  }
}

/**
 * The pattern of the handler that answered (after next(), the request's route index is that of the
 * last handler run); the catch-all and no match at all are one label.
 */
function routeOf(c: Parameters<MiddlewareHandler>[0]): string {
  let route = "";
  try {
    route = routePath(c);
  } catch {
    route = "";
  }
  return route === "" || route === "*" || route === "/*" || route === "/api/v1/*" ? UNMATCHED_ROUTE : route;
}
