// The native manifests a translation writes, as plain data (what `levee ctl convert` prints and what
// the API validates with the Service schema before storing): only the fields that differ from the
// native defaults are set, so the output reads like a hand-written levee manifest.
import type { API_VERSION } from "../meta.ts";

export type RawMount = {
  hostPath?: { path: string; prefix?: string; pathType?: string };
  shared?: { name: string };
  config?: { name: string };
  secret?: { name: string; mode?: string };
  target?: string;
  envName?: string;
  readOnly?: boolean;
};

export interface RawHealth {
  http?: string;
  tcp?: true | number;
  command?: string[];
  interval?: string;
  timeout?: string;
  successThreshold?: number;
  failureThreshold?: number;
  liveness?: boolean;
}

/** A worker template (or a worker's override) in manifest form. */
export interface RawTemplate {
  driver?: "exec" | "container";
  command?: string[];
  args?: string[];
  image?: string;
  workingDir?: string;
  user?: number;
  group?: number;
  env?: Record<string, string>;
  secretEnv?: Record<string, { secret: string; key: string }>;
  resources?: { cpu?: string | number; memory?: string | number };
  port?: number | "auto";
  health?: RawHealth;
  restart?: { policy: "always" | "on-failure" | "never" };
  stopTimeout?: string;
  mounts?: RawMount[];
  privileged?: boolean;
  devices?: string[];
  runtime?: string;
  gpus?: number | "all";
  agentUrlEnv?: string[];
  portEnv?: string[];
  kubeApi?: { serviceAccount: string };
}

export interface RawWorker {
  node: string;
  template?: RawTemplate;
}

export interface RawMesh {
  port: number;
  protocol: "tcp" | "http";
  fallback: "none" | "cloud" | "any";
}

export interface RawService {
  apiVersion: typeof API_VERSION;
  kind: "Service";
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec: { template: RawTemplate; workers: RawWorker[]; mesh?: RawMesh };
}
