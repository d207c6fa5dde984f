// Serves the Kubernetes API facade on this agent's HTTPS listener (--kube-port, on the bind
// address; the address workers get as KUBERNETES_SERVICE_HOST/PORT), with the agent's own CA and
// serving certificate (kube-access/kube-tls.ts, renewed daily if due, without a restart). The
// backend and the callers it knows are the agent's: on an edge its view and its workers' tokens,
// forwarding writes to the cloud; on the cloud the store, the admin and every node's workers.
import type { Hono } from "hono";
import type { KubeCaller } from "../../kube/access.ts";
import type { KubeAuth, KubeBackend } from "../../kube/backend.ts";
import { isTrue, kubeApiApp, MAX_KUBE_BODY } from "../../kube/routes.ts";
import type { HostPort } from "../../runtime/host-port.ts";
import { type Server, serveHttp } from "../../runtime/serve.ts";
import { bearerToken } from "../../runtime/token-file.ts";
import { versionInfo } from "../../runtime/version.ts";
import { loadOrCreateKubeTls } from "../kube-access/kube-tls.ts";
import { identifyWorkerToken } from "../kube-access/worker-tokens.ts";
import type { LocalNode } from "../local-node.ts";

const RENEW_CHECK_MS = 24 * 3600_000;

export interface KubeApiStart {
  node: string;
  backend: KubeBackend;
  auth: KubeAuth;
  forward?: (request: Request, body: string | undefined, caller: KubeCaller) => Promise<Response>;
}

export interface KubeApi {
  app: Hono;
  server: Server;
  /** The CA that signs the listener's certificate (what kubeconfigs and workers trust). */
  caPem(): string;
}

/** Callers on an edge: its own workers (their tokens); what they may write, the cloud decides. */
export function edgeKubeAuth(local: LocalNode): KubeAuth {
  return {
    authenticate: (authorization) => {
      const token = bearerToken(authorization ?? "");
      return token ? workerCaller(local, token) : undefined;
    },
    grants: () => [],
  };
}

/** The worker a token names on this node, as a caller of the API. */
export function workerCaller(local: LocalNode, token: string): KubeCaller | undefined {
  const id = identifyWorkerToken(local.store.db, token);
  return id
    ? {
        kind: "worker",
        namespace: id.namespace,
        serviceAccount: id.serviceAccount,
        service: id.service,
        node: id.node,
        index: id.index,
      }
    : undefined;
}

export function startKubeApi(local: LocalNode, listen: HostPort, start: KubeApiStart): KubeApi {
  const { config, log, lifecycle } = local;
  const addresses = [...new Set([config.advertiseAddress, listen.host])];
  let tls = loadOrCreateKubeTls(config.dataDir, start.node, addresses);
  const app = kubeApiApp({
    backend: start.backend,
    auth: start.auth,
    log: log.child({ component: "kube-api" }),
    leveeVersion: versionInfo().version,
    ...(start.forward ? { forward: start.forward } : {}),
  });
  const handler = (req: Request, srv: Server) => {
    // A watch stays open for as long as the client keeps it.
    if (req.url.includes("watch=") && isTrue(new URL(req.url).searchParams.get("watch"))) srv.timeout(req, 0);
    return app.fetch(req, srv);
  };
  const server = serveHttp("Kubernetes API, --kube-port", listen, handler, {
    tls: { cert: tls.cert, key: tls.key },
    maxRequestBodySize: MAX_KUBE_BODY + 1,
  });
  const renew = setInterval(() => {
    const next = loadOrCreateKubeTls(config.dataDir, start.node, addresses);
    if (next.cert === tls.cert) return;
    tls = next;
    server.reload({ fetch: handler, tls: { cert: tls.cert, key: tls.key } } as never);
    log.info("kubernetes api certificate renewed", { expiresAt: tls.expiresAt.toISOString() });
  }, RENEW_CHECK_MS);
  renew.unref?.();
  lifecycle.add("kube-api", () => {
    clearInterval(renew);
    server.stop(true);
  });
  log.info("kubernetes api listening", { url: `https://${config.advertiseAddress}:${listen.port}` });
  return { app: app as unknown as Hono, server, caPem: () => tls.caPem };
}
