// The cloud API (hono): health endpoints, then /api/v1: the join, the routes nodes call with
// their own credentials (certificates, Config content, artifact downloads, log uploads) and the
// admin's routes (resources, tokens, artifacts, logs, broker files), each route carrying its own
// authentication and body limit; JSON errors, 405 with Allow for a method a path does not serve.
// Every route is mounted through the route registry with its description, from which
// GET /api/v1/openapi.json is built (route-registry.ts).
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { every } from "hono/combine";
import { AllowedMethods, methodNotAllowedMessage } from "../../runtime/allowed-methods.ts";
import { mountHealthRoutes, type Readiness } from "../../runtime/health.ts";
import type { Logger } from "../../runtime/log.ts";
import type { Store } from "../../store/store.ts";
import { ApiError } from "../api-error.ts";
import type { ArtifactStore } from "../artifact-store.ts";
import type { Backup } from "../backup.ts";
import type { ControlPlane } from "../control-plane.ts";
import { type DashboardDeps, mountDashboard } from "../dashboard/dashboard.tsx";
import type { ExecSessions } from "../exec-sessions.ts";
import { ImageStore } from "../image-store.ts";
import type { LogStreams } from "../log-streams.ts";
import type { CloudMetrics } from "../metrics/cloud-metrics.ts";
import type { NodeCa } from "../node-ca.ts";
import { NodeReadScope } from "../node-read-scope.ts";
import type { UpgradeDriver } from "../upgrade/upgrade-driver.ts";
import { requireAdminToken, requireAnyToken } from "./auth.ts";
import { apiError } from "./errors.ts";
import { NodeCredentials, requireAdminOrNode, requireNode } from "./node-auth.ts";
import { RouteRegistry } from "./route-registry.ts";
import { mountArtifactRoutes } from "./routes-artifacts.ts";
import { mountBackupRoute } from "./routes-backup.ts";
import { mountBrokerRoutes } from "./routes-broker.ts";
import { mountCertificateRoutes } from "./routes-certificates.ts";
import { mountConfigContentRoutes } from "./routes-config-content.ts";
import { mountExecRoutes } from "./routes-exec.ts";
import { mountImageRoutes } from "./routes-images.ts";
import { type JoinDeps, mountJoinRoutes } from "./routes-join.ts";
import { mountLogRoutes } from "./routes-logs.ts";
import { mountMetricsRoutes } from "./routes-metrics.ts";
import { describeHealthRoutes, mountOpenApiRoute } from "./routes-openapi.ts";
import { mountPlanKeyRoute } from "./routes-plan-key.ts";
import { mountResourceRoutes, type ResourceHooks } from "./routes-resources.ts";
import { mountRolloutRoutes } from "./routes-rollout.ts";
import { mountSchedulingRoutes } from "./routes-scheduling.ts";
import { mountStagingRoutes } from "./routes-staging.ts";
import { mountTokenRoutes } from "./routes-tokens.ts";
import { mountUpgradeRoutes } from "./routes-upgrade.ts";
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
  /** Exec sessions in workers (levee ctl exec, WebSockets); without it the exec routes are not served. */
  exec?: ExecSessions;
  /** Takes a backup (GET /api/v1/backup); without it the route is not served. */
  backup?: (options: { artifacts: boolean }) => Promise<Backup>;
  /** The mesh CA; without it nodes cannot renew their mesh certificates. */
  nodeCa?: NodeCa;
  /**
   * The Kubernetes API facade: served at /kube too (where nodes forward their workers' writes,
   * with their own credentials), and described by GET /api/v1/kubeconfig for `levee ctl kubeconfig`.
   */
  kube?: { fetch: (req: Request) => Response | Promise<Response>; server: string; caPem: () => string };
  /**
   * Prometheus metrics (GET /metrics, the targets, each node's through the cloud), readable with
   * the admin token or `token` (read-only); without it those routes are not served.
   */
  metrics?: { cloud: CloudMetrics; token: string; cloudName: string };
  /** Agent upgrade rollouts; without it the upgrade routes are not served. */
  upgrades?: UpgradeDriver;
  /** Relay legs a node holds open at the cloud's relay (the dashboard's map shows them). */
  relayLegs?: (node: string) => number;
  /** The nodes' traffic reports for the dashboard, and the watch signal that asks for them. */
  traffic?: DashboardDeps["traffic"];
}

export function cloudApiApp(deps: CloudApiDeps): Hono {
  const { store, log, plane } = deps;
  const app = new Hono();
  // First: every request is counted and timed by the route that answers it.
  if (deps.metrics) app.use(deps.metrics.cloud.api.middleware());
  // Every route is added with its description: `root` at the top, `routes` under /api/v1.
  const registry = new RouteRegistry();
  const root = registry.on(app, "");
  mountHealthRoutes(app, deps.readiness, deps.identity);
  describeHealthRoutes(root);

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
  const routes = registry.on(api, "/api/v1");
  // Anyone: the API's document; a new node's join token is in the body.
  mountOpenApiRoute(routes, registry, deps.identity.version ?? "unknown");
  mountJoinRoutes(routes, { ...deps.join, store, log, guard: json });
  // The admin, or a node for itself: mesh certificates, the Config files of its plan.
  if (deps.nodeCa)
    mountCertificateRoutes(routes, { store, log, ca: deps.nodeCa, guard: every(json, adminOrNode) });
  mountConfigContentRoutes(routes, { store, scope, log, guard: every(json, adminOrNode) });
  if (deps.join.planSigner) mountPlanKeyRoute(routes, deps.join.planSigner, adminOrNode);
  // Streamed bodies, without the JSON limit: an artifact upload (its own limit) and a log upload.
  if (deps.artifacts)
    mountArtifactRoutes(routes, {
      artifacts: deps.artifacts,
      scope,
      log,
      admin: adminToken,
      readers: adminOrNode,
    });
  if (deps.artifacts)
    mountImageRoutes(routes, {
      images: new ImageStore(store, deps.artifacts),
      log,
      admin: adminToken,
      replan: (reason) => plane.replan(reason),
    });
  if (deps.logs)
    mountLogRoutes(routes, { streams: deps.logs, store, log, admin: adminToken, node: requireNode(nodes) });
  if (deps.exec)
    mountExecRoutes(routes, { sessions: deps.exec, store, admin: adminToken, node: requireNode(nodes) });
  // The admin.
  mountTokenRoutes(routes, store, admin);
  mountResourceRoutes(routes, store, plane, admin, deps.hooks);
  mountRolloutRoutes(routes, store, plane, admin);
  mountWorkerRestartRoute(routes, store, plane, admin);
  mountSchedulingRoutes(routes, plane, admin);
  mountStagingRoutes(routes, store, plane, admin);
  if (deps.upgrades) mountUpgradeRoutes(routes, deps.upgrades, admin);
  mountBrokerRoutes(routes, store, deps.cloudMqttPassword, admin);
  if (deps.backup) mountBackupRoute(routes, { take: deps.backup, log, admin: adminToken });
  if (deps.metrics) {
    const { cloud, token, cloudName } = deps.metrics;
    const scrape = requireAnyToken([deps.adminToken, token]);
    mountMetricsRoutes(root, routes, { metrics: cloud, store, cloudName, streams: deps.logs, scrape });
  }
  const kube = deps.kube;
  if (kube) {
    const kubeconfig = {
      method: "get",
      path: "/kubeconfig",
      summary: "Where the Kubernetes API facade is, and its CA (levee ctl kubeconfig)",
      tag: "kubernetes",
      auth: "admin",
      responses: { 200: "{server, certificateAuthority (PEM)}" },
    } as const;
    routes.add(kubeconfig, admin, (c) => c.json({ server: kube.server, certificateAuthority: kube.caPem() }));
    // Kubernetes-shaped, not described route by route (routes-openapi.ts, the kubernetes tag).
    app.mount("/kube", kube.fetch);
  }
  // A path that is no endpoint is answered as the admin's routes are, then 404 (or 405 when the
  // path is served with other methods): without the admin token nobody learns which paths exist.
  // (Every route above answers before this one is reached.)
  const allowed = new AllowedMethods(() => app.routes);
  api.all("*", admin, (c) => noSuchEndpoint(c, allowed));

  app.route("/api/v1", api);
  // The web dashboard (/ and /ui), with its own sessions: src/cloud/dashboard/.
  mountDashboard(app, {
    registry,
    store,
    plane,
    adminToken: deps.adminToken,
    ...(deps.logs ? { logs: deps.logs } : {}),
    ...(deps.relayLegs ? { relayLegs: deps.relayLegs } : {}),
    ...(deps.traffic ? { traffic: deps.traffic } : {}),
  });
  app.notFound((c) => noSuchEndpoint(c, allowed));
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

/** 405 with Allow when the path is served with other methods, else 404. */
function noSuchEndpoint(c: Context, allowed: AllowedMethods): Response {
  const methods = allowed.at(c.req.path);
  if (methods.length === 0) return apiError(c, 404, `no such endpoint: ${c.req.method} ${c.req.path}`);
  c.header("Allow", methods.join(", "));
  return apiError(c, 405, methodNotAllowedMessage(c.req.method, c.req.path, methods));
}
