// A request about one worker on its node (`levee ctl logs`, `levee ctl exec`): the service in the
// path and the query checked together (400 listing every issue), then the node: 404 when it does
// not exist, 503 when it is not Ready (the cloud reaches a node only over its MQTT connection).
import type { Context } from "hono";
import type { z } from "zod";
import { dnsSubdomainProblem } from "../../runtime/dns-name.ts";
import type { Store } from "../../store/store.ts";
import { readLiveness } from "../link/sync-store.ts";
import { apiError, formatPath } from "./errors.ts";

export type WorkerRequest<Q> = { ok: true; service: string; query: Q } | { ok: false; response: Response };

/**
 * Reads `c`'s service parameter and query (`schema`, with the node's name in `node`). `what` names
 * the request ("log"), `unavailable` says what a disconnected node means for it.
 */
export function readWorkerRequest<S extends z.ZodType<{ node: string }>>(
  c: Context,
  store: Store,
  schema: S,
  what: string,
  unavailable: string,
): WorkerRequest<z.infer<S>> {
  const service = c.req.param("service") ?? "";
  const query = schema.safeParse(c.req.query());
  const issues = query.success
    ? []
    : query.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message }));
  const serviceProblem = dnsSubdomainProblem(service);
  if (serviceProblem) issues.unshift({ path: "service", message: serviceProblem });
  if (!query.success || issues.length > 0)
    return { ok: false, response: apiError(c, 400, `invalid ${what} request`, issues) };
  const name = query.data.node;
  const [liveness] = readLiveness(store, name);
  if (!liveness) return { ok: false, response: apiError(c, 404, `node "${name}" not found`) };
  if (!liveness.online || liveness.phase !== "Ready") {
    const since = liveness.phaseSince ? ` (${liveness.phase} since ${liveness.phaseSince})` : "";
    return { ok: false, response: apiError(c, 503, `node ${name} is disconnected${since}: ${unavailable}`) };
  }
  return { ok: true, service, query: query.data };
}
