// One container of a pod template → the worker template of one levee worker: the image (container
// driver) or, when an ImageMap rule names the image, a local process (exec driver); command/args
// with Kubernetes' meaning (command replaces the entrypoint, args the image's command); env as a
// byte-exact map, a secretKeyRef as secretEnv (a levee Secret of that name); resources.limits
// (cpu, memory) as the worker's resources, nvidia.com/gpu as `gpus` (Docker's GPU request; on
// Jetson add `runtime: nvidia`); securityContext (privileged, runAsUser/runAsGroup).
// Ports, probes and mounts need
// facts of the whole pod and are handled by pod.ts.
import { dnsLabel } from "../meta.ts";
import { cpuMillis, memoryBytes } from "../resources.ts";
import type { SourcedRule } from "./image-map.ts";
import { matchImage } from "./image-map.ts";
import type { RawTemplate } from "./native.ts";
import type { Container, EnvVar } from "./pod-schema.ts";
import type { Path, Report } from "./warnings.ts";

/** The fields of a container that pod.ts reads (not warned about here). */
const POD_HANDLED = ["name", "ports", "volumeMounts", "readinessProbe", "livenessProbe"];
const HANDLED = [
  "image",
  "command",
  "args",
  "workingDir",
  "env",
  "securityContext",
  "imagePullPolicy",
  "resources",
];

const REASONS: Record<string, string> = {
  startupProbe: "not supported (readinessProbe and livenessProbe are); ignored",
  lifecycle: "postStart/preStop hooks are not supported; ignored",
  stdin: "workers have no standard input; ignored",
  stdinOnce: "workers have no standard input; ignored",
  tty: "workers have no terminal; ignored",
  terminationMessagePath: "levee keeps the exit code and the log instead; ignored",
  terminationMessagePolicy: "levee keeps the exit code and the log instead; ignored",
};

export interface ContainerContext {
  rules: readonly SourcedRule[];
  report: Report;
  /** Values of the fieldRefs that are known when translating (spec.nodeName, metadata.namespace). */
  fieldRefs: Readonly<Record<string, string>>;
  /** Pod-level securityContext defaults. */
  podUser?: number | undefined;
  podGroup?: number | undefined;
}

export interface ContainerWorker {
  /** With secretEnv and resources when the container has them. */
  template: RawTemplate;
  env: Record<string, string>;
  /** The ImageMap rule that made it a process, if any. */
  rule: SourcedRule | undefined;
}

const DOLLAR_REF = /(^|[^$])\$\([A-Za-z_][A-Za-z0-9_]*\)/;

export function containerWorker(container: Container, path: Path, ctx: ContainerContext): ContainerWorker {
  const { report } = ctx;
  report.unknownFields(container, [...POD_HANDLED, ...HANDLED, "envFrom"], path, REASONS);
  if (container.envFrom && container.envFrom.length > 0) {
    report.issue(
      [...path, "envFrom"],
      "not supported: write the variables under env, a Secret's value with valueFrom.secretKeyRef (one key each)",
    );
  }
  const rule = matchImage(ctx.rules, container.image);
  const template: RawTemplate = {};
  const secretEnv: NonNullable<RawTemplate["secretEnv"]> = {};
  const env = containerEnv(container.env ?? [], [...path, "env"], ctx, secretEnv);
  if (Object.keys(secretEnv).length > 0) template.secretEnv = secretEnv;
  const resources = containerResources(container.resources, [...path, "resources"], report);
  if (resources) template.resources = resources;
  for (const [i, arg] of [...(container.command ?? []), ...(container.args ?? [])].entries()) {
    if (DOLLAR_REF.test(arg)) {
      const field = i < (container.command?.length ?? 0) ? "command" : "args";
      report.warn(
        [...path, field],
        "Kubernetes expands $(VAR) references here; levee passes arguments byte-exact (no expansion)",
      );
      break;
    }
  }

  const security = container.securityContext ?? {};
  report.unknownFields(security, ["privileged", "runAsUser", "runAsGroup"], [...path, "securityContext"], {
    capabilities:
      "capabilities are not set one by one; use privileged: true if the worker needs them; ignored",
  });
  const user = security.runAsUser ?? ctx.podUser;
  const group = security.runAsGroup ?? ctx.podGroup;

  if (rule) {
    // The image runs as a local process: its entrypoint and command are the rule's, replaced by the
    // container's command/args exactly as Kubernetes replaces an image's ENTRYPOINT/CMD.
    template.driver = "exec";
    if (container.command && container.command.length > 0) {
      template.command = [...container.command];
      if (container.args && container.args.length > 0) template.args = [...container.args];
    } else {
      template.command = [...rule.command];
      const args = container.args && container.args.length > 0 ? container.args : rule.args;
      if (args && args.length > 0) template.args = [...args];
    }
    if (rule.workingDir !== undefined) template.workingDir = rule.workingDir;
    const asProcess = `the image runs as a local process (ImageMap ${rule.from})`;
    if (container.workingDir)
      report.warn([...path, "workingDir"], `${asProcess}: its working directory is the rule's; ignored`);
    if (security.privileged)
      report.warn([...path, "securityContext", "privileged"], `${asProcess}: not applicable; ignored`);
    if (gpuLimit(container.resources, [], undefined) !== undefined)
      report.warn([...path, "resources", "limits", GPU_RESOURCE], `${asProcess}: not applicable; ignored`);
    if (user !== undefined || group !== undefined)
      report.warn(
        [...path, "securityContext"],
        `${asProcess}: runAsUser/runAsGroup are ids inside the image; the process runs as the agent's user`,
      );
    return { template, env: { ...(rule.env ?? {}), ...env }, rule };
  }

  template.driver = "container";
  template.image = container.image;
  const gpus = gpuLimit(container.resources, [...path, "resources", "limits", GPU_RESOURCE], report);
  if (gpus !== undefined) template.gpus = gpus;
  if (container.command && container.command.length > 0) template.command = [...container.command];
  if (container.args && container.args.length > 0) template.args = [...container.args];
  if (container.workingDir) template.workingDir = container.workingDir;
  if (security.privileged) template.privileged = true;
  if (user !== undefined) template.user = user;
  if (group !== undefined) template.group = group;
  if (container.imagePullPolicy !== undefined && container.imagePullPolicy !== "Never") {
    report.warn(
      [...path, "imagePullPolicy"],
      "levee does not pull images from registries: push the image to the cloud (levee ctl image push), nodes then load it",
    );
  }
  return { template, env, rule: undefined };
}

/**
 * A container's env list as a map: later entries win, as in Kubernetes; values byte-exact. A
 * secretKeyRef goes to `secretEnv` (the value of a levee Secret's key).
 */
function containerEnv(
  list: readonly EnvVar[],
  path: Path,
  ctx: ContainerContext,
  secretEnv: NonNullable<RawTemplate["secretEnv"]>,
): Record<string, string> {
  const env: Record<string, string> = {};
  list.forEach((entry, i) => {
    const at = [...path, i];
    ctx.report.unknownFields(entry, ["name", "value", "valueFrom"], at);
    const secretRef = entry.valueFrom?.secretKeyRef;
    if (secretRef) {
      if (secretRef.optional)
        ctx.report.warn(
          [...at, "valueFrom", "secretKeyRef", "optional"],
          "not supported: the worker waits until the Secret exists; ignored",
        );
      const name = dnsLabel.safeParse(secretRef.name);
      if (!name.success) {
        ctx.report.issue(
          [...at, "valueFrom", "secretKeyRef", "name"],
          `the levee Secret it reads: ${name.error.issues[0]?.message}`,
        );
        return;
      }
      delete env[entry.name];
      secretEnv[entry.name] = { secret: secretRef.name, key: secretRef.key };
      return;
    }
    if (entry.valueFrom) {
      const ref = entry.valueFrom.fieldRef?.fieldPath;
      const known = ref !== undefined && Object.hasOwn(ctx.fieldRefs, ref) ? ctx.fieldRefs[ref] : undefined;
      if (known === undefined) {
        const what = ref !== undefined ? `fieldRef ${ref}` : Object.keys(entry.valueFrom).join(", ");
        ctx.report.issue(
          [...at, "valueFrom"],
          `not supported: ${what} (levee knows ${Object.keys(ctx.fieldRefs).join(" and ")} when translating; ` +
            "the worker would start without this variable)",
        );
        return;
      }
      env[entry.name] = known;
      delete secretEnv[entry.name];
      return;
    }
    const value = entry.value ?? "";
    if (DOLLAR_REF.test(value)) {
      ctx.report.warn(
        [...at, "value"],
        "Kubernetes expands $(VAR) references here; levee passes values byte-exact (no expansion)",
      );
    }
    env[entry.name] = value;
    delete secretEnv[entry.name];
  });
  return env;
}

const GPU_RESOURCE = "nvidia.com/gpu";

/** resources.limits["nvidia.com/gpu"] as a number of GPUs (Kubernetes' device plugin resource). */
function gpuLimit(
  resources: Container["resources"],
  at: Path,
  report: Report | undefined,
): number | undefined {
  const limits = (resources as { limits?: unknown } | undefined)?.limits;
  if (!limits || typeof limits !== "object" || !Object.hasOwn(limits, GPU_RESOURCE)) return undefined;
  const value = (limits as Record<string, unknown>)[GPU_RESOURCE];
  const count = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof count !== "number" || !Number.isInteger(count) || count < 0 || count > 64) {
    report?.issue(at, "expected a whole number of GPUs (0-64)");
    return undefined;
  }
  return count === 0 ? undefined : count;
}

/** resources.limits' cpu and memory as the worker's limits; requests and other resources are not kept. */
function containerResources(
  resources: Container["resources"],
  path: Path,
  report: Report,
): RawTemplate["resources"] | undefined {
  if (!resources || typeof resources !== "object") return undefined;
  const { limits, requests, ...rest } = resources as { limits?: unknown; requests?: unknown };
  for (const field of Object.keys(rest)) report.warn([...path, field], "not supported; ignored");
  if (requests !== undefined)
    report.warn(
      [...path, "requests"],
      "levee does not schedule by requests (workers are placed by node); ignored",
    );
  if (!limits || typeof limits !== "object") return undefined;
  const out: NonNullable<RawTemplate["resources"]> = {};
  for (const [name, value] of Object.entries(limits as Record<string, unknown>)) {
    const at = [...path, "limits", name];
    if (name === GPU_RESOURCE) continue; // gpus, by gpuLimit()
    if (name !== "cpu" && name !== "memory") {
      report.warn(at, "levee limits cpu and memory only; ignored");
      continue;
    }
    const valid =
      (typeof value === "string" || typeof value === "number") &&
      (name === "cpu" ? cpuMillis(value) : memoryBytes(value)) !== undefined;
    if (!valid) {
      report.issue(at, `expected a ${name} quantity, e.g. ${name === "cpu" ? '"500m"' : '"256Mi"'}`);
      continue;
    }
    out[name] = value as string | number;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
