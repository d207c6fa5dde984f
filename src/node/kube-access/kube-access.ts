// What a worker with kubeApi gets from its node's agent, as one dependency of the supervisor:
// where the agent's Kubernetes API is (KUBERNETES_SERVICE_HOST/PORT), the CA workers verify it
// with, and a fresh token per instance. Built from the agent's settings (--kube-port on the bind
// address, reached at the advertise address); absent when --kube-port is 0.
import type { Database } from "bun:sqlite";
import { loadOrCreateKubeCa } from "./kube-tls.ts";
import { issueWorkerToken, type TokenRequest } from "./worker-tokens.ts";

/** The address a worker calls the API at. */
export interface KubeEndpoint {
  host: string;
  port: number;
}

export interface KubeAccess extends KubeEndpoint {
  /** The agent's Kubernetes API CA (PEM): the workers' ca.crt. */
  caPem(): string;
  /** A new token for one instance (stored as a hash; never log it). */
  issueToken(request: Omit<TokenRequest, "node">): string;
}

export interface KubeAccessOptions extends KubeEndpoint {
  db: Database;
  dataDir: string;
  node: string;
}

export function kubeAccess(options: KubeAccessOptions): KubeAccess {
  const { db, dataDir, node } = options;
  return {
    host: options.host,
    port: options.port,
    caPem: () => loadOrCreateKubeCa(dataDir, node).cert,
    issueToken: (request) => issueWorkerToken(db, { ...request, node }),
  };
}
