// The worker template: how one worker of a Service runs. A Service has one template shared by
// all its workers; each worker entry may carry a partial override (templateOverrideSchema), in
// which env is merged and every other field replaces the shared one. Which fields a driver needs
// (command for exec, image for container) is checked on each worker's resolved template, in
// service.ts, because an override may supply them.
import { z } from "zod";
import { dnsLabelProblem, isDnsLabel } from "../runtime/dns-name.ts";
import { duration } from "./duration.ts";
import {
  absolutePath,
  commandSchema,
  envName,
  envSchema,
  fileName,
  portNumber,
  processString,
} from "./fields.ts";
import { healthSchema } from "./health.ts";
import { describeValue, strict } from "./issues.ts";
import { dnsSubdomain } from "./meta.ts";
import { mountsSchema } from "./mounts.ts";
import { resourcesSchema } from "./resources.ts";

export const DRIVERS = ["exec", "container"] as const;

const driver = z.enum(DRIVERS);

const port = z.union([portNumber, z.literal("auto")], {
  error: (iss) => `expected a port number (1-65535) or "auto", got ${describeValue(iss.input)}`,
});

const userOrGroup = z.union(
  [z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]*\$?$|^\d+$/), z.int().min(0).max(4294967294)],
  {
    error: (iss) => `expected a user or group name or a numeric id, got ${describeValue(iss.input)}`,
  },
);

const image = z
  .string()
  .regex(/^[^\s-][^\s]*$/, 'expected an image reference without spaces, e.g. "registry.local/camera:1.2"');

/** HOST[:CONTAINER[:PERMISSIONS]], like `docker run --device`. */
const device = z
  .string()
  .regex(
    /^\/[^\s:]*(:\/[^\s:]*)?(:[rwm]{1,3})?$/,
    'expected a device as HOST[:CONTAINER[:PERMISSIONS]], e.g. "/dev/video0" or "/dev/ttyUSB0:/dev/ttyS0:rw"',
  );

/** A Docker runtime's name as `docker info` lists it (runc, nvidia, ...). */
const runtime = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'expected a Docker runtime name, e.g. "nvidia"');

const gpus = z.union([z.literal("all"), z.int().min(1).max(64)], {
  error: (iss) => `expected "all" or a number of GPUs (1-64), got ${describeValue(iss.input)}`,
});

/** A CDI device: VENDOR/CLASS=NAME (Docker 25 and later). */
const cdiDevice = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9.-]*\/[A-Za-z0-9][A-Za-z0-9_.-]*=[A-Za-z0-9_.:-]+$/,
    'expected a CDI device name VENDOR/CLASS=NAME, e.g. "nvidia.com/gpu=all"',
  );

const backoff = strict({
  initial: duration({ min: 1 }).default("1s"),
  max: duration({ min: 1 }).default("5m"),
});

const restart = strict({
  policy: z.enum(["always", "on-failure", "never"]).default("always"),
  backoff: backoff.prefault({}),
});

/** Kubernetes API access for the worker (what a pod's service account gives it). */
const kubeApi = strict({
  serviceAccount: z
    .string()
    .refine(isDnsLabel, { error: (iss) => dnsLabelProblem(String(iss.input)) })
    .default("default")
    .meta({ description: "the service account the worker's token acts as (a DNS label)" }),
});

const update = z.enum(["replace", "surge"]).meta({
  description: "replace: stop the old worker, then start the new one; surge: start the new one first",
});

/** A variable whose value is one key of a Secret (Kubernetes' env valueFrom.secretKeyRef). */
const secretKeyRef = strict({
  // Like a secret mount's name: a DNS label in a manifest, the Secret's key in a node's plan.
  secret: dnsSubdomain.meta({ description: "name of the Secret (in the Service's namespace)" }),
  key: fileName.meta({ description: "the key whose value the variable receives (UTF-8 text)" }),
});

/** Field schemas without defaults: the override uses them as they are. */
const fields = {
  driver: driver.meta({ description: "exec: a process; container: a Docker container" }),
  command: commandSchema.meta({
    description: "program and arguments (exec: required; container: replaces the entrypoint)",
  }),
  args: z
    .array(processString)
    .meta({ description: "arguments after the command (container: the image's command)" }),
  image: image.meta({ description: "container image (container: required)" }),
  // Absolute: a relative directory would depend on where the agent happened to be started.
  workingDir: absolutePath.meta({
    description: "working directory (absolute); default: the worker's own directory",
  }),
  user: userOrGroup,
  group: userOrGroup,
  env: envSchema,
  // No default: existing specs stay byte-identical.
  secretEnv: z.record(envName, secretKeyRef).meta({
    description: "variables whose values come from Secrets: NAME → {secret, key}; win over env",
  }),
  port: port.meta({
    description: "the worker's listen port, or auto: the agent picks a free one and passes PORT",
  }),
  health: healthSchema,
  restart,
  stopTimeout: duration().meta({ description: "time between SIGTERM and SIGKILL" }),
  update,
  mounts: mountsSchema,
  privileged: z.boolean().meta({ description: "container only" }),
  devices: z.array(device).meta({ description: "container only: device files" }),
  // No defaults: without them, existing specs stay byte-identical.
  runtime: runtime.meta({
    description:
      'container only: the Docker runtime (e.g. "nvidia" on Jetson); a node whose Docker lacks it fails the worker, naming it',
  }),
  gpus: gpus.meta({
    description:
      'container only: GPUs through Docker\'s device requests ("all" or a count), like docker run --gpus',
  }),
  cdiDevices: z.array(cdiDevice).max(64).meta({
    description: 'container only: CDI devices (e.g. "nvidia.com/gpu=all"; Docker 25 and later)',
  }),
  meshProxy: z.boolean().meta({
    description: "pass the node's mesh forward proxy as HTTP_PROXY (and a matching NO_PROXY)",
  }),
  // More names for two facts the agent injects, for programs that read them under their own name
  // (Sedna's LC_SERVER, Dayu's GUNICORN_PORT). Like LEVEE_AGENT_URL and PORT, the agent's value
  // always wins over the env of the same name. No default: existing specs stay byte-identical.
  agentUrlEnv: z.array(envName).meta({
    description: "variables that receive the local agent's URL (the value of LEVEE_AGENT_URL)",
  }),
  portEnv: z.array(envName).meta({
    description: "variables that receive the worker's port (the value of PORT); needs port",
  }),
  // No default: without it a worker has no limits, and existing specs stay byte-identical.
  resources: resourcesSchema.meta({
    description:
      "CPU and memory limits (exec: a cgroup v2 of its own; container: Docker's); over the memory limit the worker is OOMKilled",
  }),
  // No default: without it a worker gets no token, and existing specs stay byte-identical.
  kubeApi: kubeApi.meta({
    description:
      "access to the Kubernetes API of the worker's node agent: KUBERNETES_SERVICE_HOST/PORT and a token, ca.crt and namespace (containers: at /var/run/secrets/kubernetes.io/serviceaccount)",
  }),
};

export const templateSchema = strict({
  driver: fields.driver.default("exec"),
  command: fields.command.optional(),
  args: fields.args.default([]),
  image: fields.image.optional(),
  workingDir: fields.workingDir.optional(),
  user: fields.user.optional(),
  group: fields.group.optional(),
  env: fields.env.default({}),
  secretEnv: fields.secretEnv.optional(),
  port: fields.port.optional(),
  health: fields.health.optional(),
  restart: fields.restart.prefault({}),
  stopTimeout: fields.stopTimeout.default("10s"),
  update: fields.update.default("replace"),
  mounts: fields.mounts.default([]),
  privileged: fields.privileged.default(false),
  devices: fields.devices.default([]),
  runtime: fields.runtime.optional(),
  gpus: fields.gpus.optional(),
  cdiDevices: fields.cdiDevices.optional(),
  meshProxy: fields.meshProxy.default(false),
  agentUrlEnv: fields.agentUrlEnv.optional(),
  portEnv: fields.portEnv.optional(),
  kubeApi: fields.kubeApi.optional(),
  resources: fields.resources.optional(),
});

/** A worker's override: any template field; no defaults, so that unset fields are inherited. */
export const templateOverrideSchema = strict({
  driver: fields.driver.optional(),
  command: fields.command.optional(),
  args: fields.args.optional(),
  image: fields.image.optional(),
  workingDir: fields.workingDir.optional(),
  user: fields.user.optional(),
  group: fields.group.optional(),
  env: fields.env.optional().meta({ description: "merged into the shared env" }),
  secretEnv: fields.secretEnv.optional(),
  port: fields.port.optional(),
  health: fields.health.optional(),
  restart: fields.restart.optional(),
  stopTimeout: fields.stopTimeout.optional(),
  update: fields.update.optional(),
  mounts: fields.mounts.optional(),
  privileged: fields.privileged.optional(),
  devices: fields.devices.optional(),
  runtime: fields.runtime.optional(),
  gpus: fields.gpus.optional(),
  cdiDevices: fields.cdiDevices.optional(),
  meshProxy: fields.meshProxy.optional(),
  agentUrlEnv: fields.agentUrlEnv.optional(),
  portEnv: fields.portEnv.optional(),
  kubeApi: fields.kubeApi.optional(),
  resources: fields.resources.optional(),
});

export type Template = z.output<typeof templateSchema>;
export type TemplateOverride = z.output<typeof templateOverrideSchema>;
export type Driver = Template["driver"];

/** The template a worker runs: the shared one with the override applied (env merged). */
export function applyOverride(template: Template, override: TemplateOverride | undefined): Template {
  if (!override) return { ...template, env: { ...template.env } };
  const resolved: Record<string, unknown> = { ...template };
  for (const [key, value] of Object.entries(override)) {
    if (value !== undefined) resolved[key] = value;
  }
  resolved.env = { ...template.env, ...override.env };
  return resolved as Template;
}
