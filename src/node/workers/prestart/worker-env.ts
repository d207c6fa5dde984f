// The environment a worker starts with (pure): the template's env plus what the agent injects,
// the variables Sedna's local controller sets (so Dayu components run unchanged) and levee's own.
//
//   NODE_NAME, SERVICE_NAME, PORT, LEVEE_AGENT_URL, LEVEE_WORKER_ID, LEVEE_WORKER_INDEX,
//   LEVEE_WORKER_DIR                     facts the agent owns: always the agent's value
//   NAMESPACE (default: the service's namespace), LOG_LEVEL (default "INFO"),
//   DATA_PATH_PREFIX (default "/home/data")   defaults: the template's env may set them
//   mount envName variables              the mount's final path
//   HTTP_PROXY, http_proxy, NO_PROXY, no_proxy   the mesh forward proxy (template meshProxy: true)
//   template agentUrlEnv names (e.g. LC_SERVER)  the agent's URL, like LEVEE_AGENT_URL
//   template portEnv names (e.g. GUNICORN_PORT)  the worker's port, like PORT (only with a port)
//   KUBERNETES_SERVICE_HOST, KUBERNETES_SERVICE_PORT   template kubeApi: the agent's Kubernetes API
//                                        (the agent's value, like the facts above); exec workers
//                                        also LEVEE_SERVICEACCOUNT_DIR, their token's directory
//
// Values are passed byte-exact: no expansion, quoting or trimming happens anywhere.

import { splitKey } from "../../../manifest/namespace.ts";

export interface WorkerEnvInput {
  templateEnv: Record<string, string>;
  node: string;
  service: string;
  index: number;
  instance: string;
  workerDir: string;
  agentUrl: string;
  port?: number | undefined;
  /** envName → path, from the resolved mounts. */
  mountEnv: Record<string, string>;
  /** The node's mesh forward proxy, for workers with meshProxy: true. */
  proxy?: { url: string; host: string } | undefined;
  /** More variables that receive agentUrl (template agentUrlEnv). */
  agentUrlEnv?: readonly string[] | undefined;
  /** More variables that receive the port (template portEnv). */
  portEnv?: readonly string[] | undefined;
  /** Template kubeApi: where the agent's Kubernetes API is; accountDir for exec workers. */
  kube?: { host: string; port: number; accountDir?: string | undefined } | undefined;
}

export const ENV_DEFAULTS: Readonly<Record<string, string>> = {
  NAMESPACE: "default",
  LOG_LEVEL: "INFO",
  DATA_PATH_PREFIX: "/home/data",
};

export function workerEnv(input: WorkerEnvInput): Record<string, string> {
  // A service outside `default` is known to the plan by its key (`name.namespace`); its workers
  // see its name, and its namespace unless the template sets one, as Kubernetes would show them.
  const { name, namespace } = splitKey(input.service);
  const env: Record<string, string> = {
    ...ENV_DEFAULTS,
    NAMESPACE: namespace,
    ...input.templateEnv,
    ...input.mountEnv,
  };
  env.NODE_NAME = input.node;
  env.SERVICE_NAME = name;
  env.LEVEE_AGENT_URL = input.agentUrl;
  env.LEVEE_WORKER_ID = input.instance;
  env.LEVEE_WORKER_INDEX = String(input.index);
  env.LEVEE_WORKER_DIR = input.workerDir;
  if (input.port !== undefined) env.PORT = String(input.port);
  for (const name of input.agentUrlEnv ?? []) env[name] = input.agentUrl;
  if (input.port !== undefined) for (const name of input.portEnv ?? []) env[name] = String(input.port);
  if (input.kube) {
    env.KUBERNETES_SERVICE_HOST = input.kube.host;
    env.KUBERNETES_SERVICE_PORT = String(input.kube.port);
    if (input.kube.accountDir !== undefined) env.LEVEE_SERVICEACCOUNT_DIR = input.kube.accountDir;
  }
  if (input.proxy) {
    // Loopback (the agent API included) stays direct; everything else goes through the mesh.
    const noProxy = [...new Set(["localhost", "127.0.0.1", "::1", input.proxy.host])].join(",");
    env.HTTP_PROXY = env.http_proxy = input.proxy.url;
    env.NO_PROXY = env.no_proxy = noProxy;
  }
  return env;
}

/**
 * The few variables of the agent's own environment an exec worker inherits, so that programs are
 * found and behave (PATH, HOME, LANG, TZ...). Nothing else leaks: the agent's secrets stay out.
 */
export const INHERITED_ENV = ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "USER", "LOGNAME", "SHELL", "TMPDIR"];

export function inheritedEnv(source: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of INHERITED_ENV) {
    const value = source[name];
    if (value !== undefined) out[name] = value;
  }
  if (out.PATH === undefined) out.PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  return out;
}
