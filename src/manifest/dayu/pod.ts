// A pod template pinned to one node → one levee worker template per container (the containers of a
// pod become workers of the same service on the same node; with host networking they share the
// node's network, as a pod's containers share theirs). Adds what the controller injects (env on top
// of the container's, mounts), gives the serving containers their port, maps the pod's service
// account to Kubernetes API access (service-account.ts), and warns about every pod field levee does
// not honour.
import { formatDuration } from "../duration.ts";
import type { ContainerContext } from "./containers.ts";
import { containerWorker } from "./containers.ts";
import type { RawMount, RawTemplate } from "./native.ts";
import type { Container, PodSpec } from "./pod-schema.ts";
import { probeHealth } from "./probes.ts";
import { type PlannedMount, type PodScope, podVolumeMounts } from "./sedna-mounts.ts";
import { dropKubeApiEnv, podKubeApi, SERVICE_ACCOUNT_FIELDS } from "./service-account.ts";
import type { Path, Report } from "./warnings.ts";

const PINNED = "placement is by nodeName; ignored";

const POD_REASONS: Record<string, string> = {
  dnsPolicy:
    "no cluster DNS: workers use the node's resolver and reach services at <node address>:<port>; ignored",
  dnsConfig: "no cluster DNS: workers use the node's resolver; ignored",
  nodeSelector: PINNED,
  affinity: PINNED,
  tolerations: PINNED,
  topologySpreadConstraints: PINNED,
  priorityClassName: PINNED,
  priority: PINNED,
  schedulerName: PINNED,
  imagePullSecrets: "levee does not pull from registries (levee ctl image push); ignored",
  hostPID: "not supported; ignored",
  hostIPC: "not supported; ignored",
  shareProcessNamespace: "not supported; ignored",
  hostname: "workers keep the node's host name; ignored",
  subdomain: "no cluster DNS; ignored",
  ephemeralContainers: "not supported; ignored",
  activeDeadlineSeconds: "not supported; ignored",
};

const POD_HANDLED = [
  "nodeName",
  "containers",
  "volumes",
  "restartPolicy",
  "terminationGracePeriodSeconds",
  "hostNetwork",
  "securityContext",
  "initContainers",
  "runtimeClassName",
  ...SERVICE_ACCOUNT_FIELDS,
];

export interface PodInput {
  pod: PodSpec;
  /** Path of the PodSpec in the manifest. */
  path: Path;
  scope: PodScope;
  /** Mounts the controller adds (Sedna's mounts[] and file). */
  planned: readonly PlannedMount[];
  /** Variables the controller injects on top of the container's env. */
  injectedEnv: Readonly<Record<string, string>>;
  /** Variables that receive the local agent's URL (LC_SERVER on Sedna's edge workers). */
  agentUrlEnv: readonly string[];
  /** The port the pod serves (serviceConfig.port, endpoint.port), if it serves one. */
  serving: number | undefined;
  /** Variables a component reads its port from (GUNICORN_PORT). */
  portEnv: readonly string[];
  ctx: Omit<ContainerContext, "podUser" | "podGroup">;
}

/** Variables the agent sets itself (the same values the controller would inject). */
const AGENT_OWNED = ["NODE_NAME", "SERVICE_NAME"];

export function podWorkers(input: PodInput): RawTemplate[] {
  const { pod, path, ctx } = input;
  const report = ctx.report;
  report.unknownFields(pod, POD_HANDLED, path, POD_REASONS);
  if (pod.initContainers !== undefined && pod.initContainers !== null) {
    report.issue(
      [...path, "initContainers"],
      "not supported: levee runs no init containers, and the workers would start without what they prepare",
    );
  }
  const podSecurity = pod.securityContext ?? {};
  report.unknownFields(podSecurity, ["runAsUser", "runAsGroup"], [...path, "securityContext"]);
  checkMountContainers(input, report);
  const common: RawTemplate = {};
  if (pod.restartPolicy === "OnFailure") common.restart = { policy: "on-failure" };
  if (pod.restartPolicy === "Never") common.restart = { policy: "never" };
  if (pod.terminationGracePeriodSeconds !== undefined && pod.terminationGracePeriodSeconds !== null)
    common.stopTimeout = formatDuration(pod.terminationGracePeriodSeconds * 1000);
  const kubeApi = podKubeApi(pod, path, report);
  if (kubeApi) common.kubeApi = kubeApi;

  const servingIndexes = servingContainers(input);
  return pod.containers.map((container, i) => {
    const at = [...path, "containers", i];
    const worker = containerWorker(container, at, {
      ...ctx,
      podUser: podSecurity.runAsUser ?? undefined,
      podGroup: podSecurity.runAsGroup ?? undefined,
    });
    const template: RawTemplate = { ...worker.template, ...common };
    // A RuntimeClass's handler is usually its name (nvidia on Jetson): Docker's runtime of that name.
    const runtimeClass = (pod as { runtimeClassName?: unknown }).runtimeClassName;
    if (typeof runtimeClass === "string" && worker.rule === undefined) template.runtime = runtimeClass;
    const serves = servingIndexes.includes(i);
    const portVars = serves ? input.portEnv.filter((name) => Object.hasOwn(worker.env, name)) : [];
    const env: Record<string, string> = { ...worker.env, ...input.injectedEnv };
    for (const name of [...AGENT_OWNED, ...input.agentUrlEnv, ...portVars]) delete env[name];
    if (kubeApi) dropKubeApiEnv(env, at, report);
    else warnKubeApiEnv(container, at, report);
    if (input.agentUrlEnv.length > 0) template.agentUrlEnv = [...input.agentUrlEnv];
    if (serves) {
      if (portVars.length > 0) {
        template.port = "auto";
        template.portEnv = portVars;
      } else template.port = input.serving as number;
    }
    warnPorts(container, at, serves ? input.serving : undefined, report);

    const mounts = containerMounts(input, container, at, report);
    const exec = worker.rule !== undefined;
    for (const planned of mounts) {
      const name = planned.mount.envName;
      if (name !== undefined && (Object.hasOwn(worker.env, name) || Object.hasOwn(input.injectedEnv, name)))
        report.issue(
          planned.at,
          `variable ${name} is both in the env and a mount's envName (Sedna refuses this too)`,
        );
    }
    if (Object.keys(env).length > 0) template.env = env;
    const list: RawMount[] = [];
    const devices: string[] = [];
    for (const planned of mounts) {
      const hostPath = planned.mount.hostPath;
      if (planned.device && !exec && hostPath) {
        // A device is not a mount: its envName variable is written here (the agent sets the others).
        const host = hostPath.prefix ? `${hostPath.prefix}/${hostPath.path}` : hostPath.path;
        devices.push(`${host}:${planned.mount.target}`);
        if (planned.mount.envName)
          template.env = { ...template.env, [planned.mount.envName]: planned.mount.target };
        continue;
      }
      if (exec && planned.mount.envName === undefined && !planned.exported) {
        report.warn(
          planned.at,
          "the image runs as a local process, which does not see mount targets; it finds a mount through envName, and this one has none",
        );
      }
      list.push(planned.mount);
    }
    if (list.length > 0) template.mounts = list;
    if (devices.length > 0) template.devices = devices;
    const names: Record<string, number> = {};
    for (const p of container.ports ?? []) if (p.name) names[p.name] = p.containerPort;
    const declared = serves ? input.serving : container.ports?.[0]?.containerPort;
    const health = probeHealth(
      container,
      at,
      { declared, names, hasPort: template.port !== undefined },
      report,
    );
    if (health) template.health = health;
    return template;
  });
}

/**
 * The containers that serve the pod's port: those reading a port variable (they move to a port the
 * agent allocates); when none does, the one declaring the port (else the first) listens on it.
 */
function servingContainers(input: PodInput): number[] {
  if (input.serving === undefined) return [];
  const { containers } = input.pod;
  const reading = containers.flatMap((c, i) =>
    (c.env ?? []).some((e) => input.portEnv.includes(e.name)) ? [i] : [],
  );
  if (reading.length > 0) return reading;
  const declaring = containers.findIndex((c) =>
    (c.ports ?? []).some((p) => p.containerPort === input.serving),
  );
  return [Math.max(declaring, 0)];
}

/** Without a service account the container's KUBERNETES_SERVICE_HOST is kept, but no token goes with it. */
function warnKubeApiEnv(container: Container, at: Path, report: Report): void {
  const i = (container.env ?? []).findIndex((e) => e.name === "KUBERNETES_SERVICE_HOST");
  if (i < 0) return;
  report.warn(
    [...at, "env", i],
    "KUBERNETES_SERVICE_HOST without a serviceAccountName: the worker gets no token for the agent's Kubernetes API; kept as written",
  );
}

function warnPorts(container: Container, at: Path, serving: number | undefined, report: Report): void {
  (container.ports ?? []).forEach((port, i) => {
    if (port.containerPort === serving && !port.hostPort) return;
    report.warn(
      [...at, "ports", i],
      `workers share the node's network: the container listens on port ${port.containerPort} of the node itself` +
        (port.hostPort ? "; hostPort is not remapped" : ""),
    );
  });
}

function checkMountContainers(input: PodInput, report: Report): void {
  const names = new Set(input.pod.containers.map((c) => c.name ?? ""));
  for (const planned of input.planned) {
    for (const name of planned.containers ?? []) {
      if (!names.has(name))
        report.issue([...planned.at, "containers"], `no container named ${JSON.stringify(name)}`);
    }
  }
}

/** The mounts one container gets: the controller's (for it) and its own volumeMounts, by target. */
function containerMounts(input: PodInput, container: Container, at: Path, report: Report) {
  const mine = input.planned.filter((p) => !p.containers || p.containers.includes(container.name ?? ""));
  const own = podVolumeMounts(
    input.pod,
    input.path,
    container.volumeMounts ?? [],
    [...at, "volumeMounts"],
    input.scope,
    report,
  );
  const planned: PlannedMount[] = [];
  const byTarget = new Map<string, PlannedMount>();
  const byEnv = new Map<string, PlannedMount>();
  for (const p of [...mine, ...own]) {
    const same = byTarget.get(p.mount.target);
    if (same) {
      if (JSON.stringify(same.mount) !== JSON.stringify(p.mount))
        report.issue(p.at, `${p.mount.target} is already mounted from another source in this container`);
      continue;
    }
    const env = p.mount.envName;
    if (env !== undefined) {
      const first = byEnv.get(env);
      if (first) {
        report.issue(p.at, `envName ${env} is already used by another mount of this container`);
        continue;
      }
      byEnv.set(env, p);
    }
    byTarget.set(p.mount.target, p);
    planned.push(p);
  }
  return planned;
}
