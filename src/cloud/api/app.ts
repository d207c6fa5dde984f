// The cloud API (hono): health endpoints, then /api/v1 with a body-size limit, admin-token auth on
// everything but the join call, JSON errors, and the resource, token and join routes.
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { mountHealthRoutes, type Readiness } from "../../runtime/health.ts";
import type { Logger } from "../../runtime/log.ts";
import type { Store } from "../../store/store.ts";
import type { ArtifactStore } from "../artifact-store.ts";
import { ApplyRejected, type ControlPlane } from "../control-plane.ts";
import type { LogStreams } from "../log-streams.ts";
import type { NodeCa } from "../node-ca.ts";
import { requireAdminToken } from "./auth.ts";
import { apiError } from "./errors.ts";
import { mountArtifactRoutes } from "./routes-artifacts.ts";
import { mountBrokerRoutes } from "./routes-broker.ts";
import { mountCertificateRoutes } from "./routes-certificates.ts";
import { mountConfigContentRoutes } from "./routes-config-content.ts";
import { type JoinDeps, mountJoinRoutes } from "./routes-join.ts";
import { mountLogRoutes } from "./routes-logs.ts";
import { mountResourceRoutes, type ResourceHooks } from "./routes-resources.ts";
import { mountTokenRoutes } from "./routes-tokens.ts";

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
  join: Omit<JoinDeps, "store" | "log">;
  hooks?: ResourceHooks;
  /** Artifact storage; without it the artifact routes are not served. */
  artifacts?: ArtifactStore;
  /** Log streams from nodes (levee ctl logs); without it the log routes are not served. */
  logs?: LogStreams;
  /** The mesh CA; without it nodes cannot renew their mesh certificates. */
  nodeCa?: NodeCa;
}

export function cloudApiApp(deps: CloudApiDeps): Hono {
  const app = new Hono();
  mountHealthRoutes(app, deps.readiness, deps.identity);

  const api = new Hono();
  // First: an artifact upload has its own size limit (streamed), and nodes may read artifacts.
  if (deps.artifacts) {
    mountArtifactRoutes(api, {
      artifacts: deps.artifacts,
      store: deps.store,
      log: deps.log,
      adminToken: deps.adminToken,
    });
  }
  // Also before the body limit: a node's log upload is a stream of any length.
  if (deps.logs) {
    mountLogRoutes(api, {
      streams: deps.logs,
      store: deps.store,
      log: deps.log,
      adminToken: deps.adminToken,
    });
  }
  api.use(
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => apiError(c, 413, `request body larger than ${MAX_BODY_BYTES} bytes`),
    }),
  );
  const join = new Hono();
  mountJoinRoutes(join, { ...deps.join, store: deps.store, log: deps.log });
  api.route("/", join);
  // Nodes renew their mesh certificates with their own credentials: before the admin-only routes.
  if (deps.nodeCa) {
    mountCertificateRoutes(api, {
      store: deps.store,
      log: deps.log,
      adminToken: deps.adminToken,
      ca: deps.nodeCa,
    });
  }

  // Nodes fetch the Config files their plans reference with their own credentials.
  mountConfigContentRoutes(api, { store: deps.store, log: deps.log, adminToken: deps.adminToken });

  const guarded = new Hono();
  guarded.use(requireAdminToken(deps.adminToken));
  mountTokenRoutes(guarded, deps.store);
  mountResourceRoutes(guarded, deps.store, deps.plane, deps.hooks);
  mountBrokerRoutes(guarded, deps.store, deps.cloudMqttPassword);
  api.route("/", guarded);

  app.route("/api/v1", api);
  app.notFound((c) => apiError(c, 404, `no such endpoint: ${c.req.method} ${c.req.path}`));
  app.onError((err, c) => {
    // A change the control plane refuses (deleting an object a Dayu object made): its status.
    if (err instanceof ApplyRejected) return apiError(c, err.status, err.issue.message, err.issues);
    deps.log.error("api error", { method: c.req.method, path: c.req.path, error: err });
    return apiError(c, 500, "internal error (logged by the cloud)");
  });
  return app;
}
