// The cloud API (hono): health endpoints, then /api/v1: the join, the routes nodes call with
// their own credentials (certificates, Config content, artifact downloads, log uploads) and the
// admin's routes (resources, tokens, artifacts, logs, broker files), each route carrying its own
// authentication and body limit; JSON errors.
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { every } from "hono/combine";
import { mountHealthRoutes, type Readiness } from "../../runtime/health.ts";
import type { Logger } from "../../runtime/log.ts";
import type { Store } from "../../store/store.ts";
import { ApiError } from "../api-error.ts";
import type { ArtifactStore } from "../artifact-store.ts";
import type { Backup } from "../backup.ts";
import type { ControlPlane } from "../control-plane.ts";
import { type DashboardDeps, mountDashboard } from "../dashboard/dashboard.tsx";
import type { LogStreams } from "../log-streams.ts";
import type { NodeCa } from "../node-ca.ts";
import { NodeReadScope } from "../node-read-scope.ts";
import { requireAdminToken } from "./auth.ts";
import { apiError } from "./errors.ts";
import { NodeCredentials, requireAdminOrNode, requireNode } from "./node-auth.ts";
import { mountArtifactRoutes } from "./routes-artifacts.ts";
import { mountBackupRoute } from "./routes-backup.ts";
import { mountBrokerRoutes } from "./routes-broker.ts";
import { mountCertificateRoutes } from "./routes-certificates.ts";
import { mountConfigContentRoutes } from "./routes-config-content.ts";
import { type JoinDeps, mountJoinRoutes } from "./routes-join.ts";
import { mountLogRoutes } from "./routes-logs.ts";
import { mountPlanKeyRoute } from "./routes-plan-key.ts";
import { mountResourceRoutes, type ResourceHooks } from "./routes-resources.ts";
import { mountTokenRoutes } from "./routes-tokens.ts";
import { mountWorkerRestartRoute } from "./routes-worker-restart.ts";

/** Largest request body: manifests with embedded Config files. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface CloudApiDeps {
  store: Store;
  log: Logger;
  readiness: Readiness;
  identity: Record<string, string>;
  adminToken: string;
  /** levee-cloud's MQTT password, for the generated Mosquitto password file. */
  cloudMqttPassword: string;
  plane: ControlPlane;
  join: Omit<JoinDeps, "store" | "log" | "guard">;
  hooks?: ResourceHooks;
  /** Artifact storage; without it the artifact routes are not served. */
  artifacts?: ArtifactStore;
  /** Log streams from nodes (levee ctl logs); without it the log routes are not served. */
  logs?: LogStreams;
  /** Takes a backup (GET /api/v1/backup); without it the route is not served. */
  backup?: (options: { artifacts: boolean }) => Promise<Backup>;
  /** The mesh CA; without it nodes cannot renew their mesh certificates. */
  nodeCa?: NodeCa;
  /**
   * The Kubernetes API facade: served at /kube too (where nodes forward their workers' writes,
   * with their own credentials), and described by GET /api/v1/kubeconfig for `levee ctl kubeconfig`.
   */
  kube?: { fetch: (req: Request) => Response | Promise<Response>; server: string; caPem: () => string };
  /** Relay legs a node holds open at the cloud's relay (the dashboard's map shows them). */
  relayLegs?: (node: string) => number;
  /** The nodes' traffic reports for the dashboard, and the watch signal that asks for them. */
  traffic?: DashboardDeps["traffic"];
}

export function cloudApiApp(deps: CloudApiDeps): Hono {
  const { store, log, plane } = deps;
  const app = new Hono();
  mountHealthRoutes(app, deps.readiness, deps.identity);

  // Who may call a route, and how large its body may be, is attached to each route: the order
  // the groups are mounted in decides nothing.
  const json = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: (c) => apiError(c, 413, `request body larger than ${MAX_BODY_BYTES} bytes`),
  });
  const adminToken = requireAdminToken(deps.adminToken);
  const nodes = new NodeCredentials(store);
  const adminOrNode = requireAdminOrNode(deps.adminToken, nodes);
  const admin = every(json, adminToken);
  // What each node may read: the content its current plan references, one cache for both routes.
  const scope = new NodeReadScope(store);

  const api = new Hono();
  // Anyone: a new node's join token is in the body.
  mountJoinRoutes(api, { ...deps.join, store, log, guard: json });
  // The admin, or a node for itself: mesh certificates, the Config files of its plan.
  if (deps.nodeCa)
    mountCertificateRoutes(api, { store, log, ca: deps.nodeCa, guard: every(json, adminOrNode) });
  mountConfigContentRoutes(api, { store, scope, log, guard: every(json, adminOrNode) });
  if (deps.join.planSigner) mountPlanKeyRoute(api, deps.join.planSigner, adminOrNode);
  // Streamed bodies, without the JSON limit: an artifact upload (its own limit) and a log upload.
  if (deps.artifacts)
    mountArtifactRoutes(api, {
      artifacts: deps.artifacts,
      scope,
      log,
      admin: adminToken,
      readers: adminOrNode,
    });
  if (deps.logs)
    mountLogRoutes(api, { streams: deps.logs, store, log, admin: adminToken, node: requireNode(nodes) });
  // The admin.
  mountTokenRoutes(api, store, admin);
  mountResourceRoutes(api, store, plane, admin, deps.hooks);
  mountWorkerRestartRoute(api, store, plane, admin);
  mountBrokerRoutes(api, store, deps.cloudMqttPassword, admin);
  if (deps.backup) mountBackupRoute(api, { take: deps.backup, log, admin: adminToken });
  const kube = deps.kube;
  if (kube) {
    api.get("/kubeconfig", admin, (c) => c.json({ server: kube.server, certificateAuthority: kube.caPem() }));
    app.mount("/kube", kube.fetch);
  }
  // A path that is no endpoint is answered as the admin's routes are, then 404: without the admin
  // token nobody learns which paths exist. (Every route above answers before this one is reached.)
  api.all("*", admin, (c) => noSuchEndpoint(c));

  app.route("/api/v1", api);
  // The web dashboard (/ and /ui), with its own sessions: src/cloud/dashboard/.
  mountDashboard(app, {
    store,
    plane,
    adminToken: deps.adminToken,
    ...(deps.logs ? { logs: deps.logs } : {}),
    ...(deps.relayLegs ? { relayLegs: deps.relayLegs } : {}),
    ...(deps.traffic ? { traffic: deps.traffic } : {}),
  });
  app.notFound((c) => noSuchEndpoint(c));
  app.onError((err, c) => {
    // A refusal, wherever it was found (a route, the control plane, a join): its status and issues.
    if (err instanceof ApiError) {
      for (const [name, value] of Object.entries(err.headers)) c.header(name, value);
      return apiError(c, err.status, err.message, err.issues);
    }
    log.error("api error", { method: c.req.method, path: c.req.path, error: err });
    return apiError(c, 500, "internal error (logged by the cloud)");
  });
  return app;
}

function noSuchEndpoint(c: Context): Response {
  return apiError(c, 404, `no such endpoint: ${c.req.method} ${c.req.path}`);
}
