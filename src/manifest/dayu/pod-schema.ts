// The parts of a Kubernetes pod template that Dayu's manifests carry (core/v1 PodSpec, Container,
// EnvVar, Volume, Probe), as zod schemas. The fields levee reads are typed, so that a wrong type is
// an issue with its path; every object is loose: fields levee does not read are kept and turned into
// warnings by the translation (never dropped without a word). A YAML `null` counts as absent, as it
// does for the Kubernetes API.
import { z } from "zod";
import { absolutePath, processString } from "../fields.ts";
import { describeValue } from "../issues.ts";
import { PATH_TYPES } from "../mounts.ts";

/** An optional field that may also be written as null. */
export function opt<T extends z.ZodType>(schema: T) {
  return schema.nullish();
}

const int = (min: number, max = 2 ** 31 - 1) => z.int().min(min).max(max);

/** A port number or a named port (`http`), as probes and services write it. */
export const portOrName = z.union([int(1, 65535), z.string().min(1)], {
  error: (iss) => `expected a port number or a port name, got ${describeValue(iss.input)}`,
});

const ENV_NAME = /^[!-<>-~]+$/;

export const envVarSchema = z.looseObject({
  name: z.string().regex(ENV_NAME, "expected a variable name: printable ASCII without '=' or spaces"),
  value: opt(processString),
  valueFrom: opt(
    z.looseObject({
      fieldRef: opt(z.looseObject({ fieldPath: z.string().min(1), apiVersion: opt(z.string()) })),
      secretKeyRef: opt(
        z.looseObject({ name: z.string().min(1), key: z.string().min(1), optional: opt(z.boolean()) }),
      ),
    }),
  ),
});

export const probeSchema = z.looseObject({
  httpGet: opt(
    z.looseObject({
      path: opt(z.string()),
      port: portOrName,
      host: opt(z.string()),
      scheme: opt(z.string()),
    }),
  ),
  tcpSocket: opt(z.looseObject({ port: portOrName, host: opt(z.string()) })),
  exec: opt(z.looseObject({ command: z.array(processString).min(1, "must name the program to run") })),
  initialDelaySeconds: opt(int(0)),
  periodSeconds: opt(int(1)),
  timeoutSeconds: opt(int(1)),
  successThreshold: opt(int(1, 100)),
  failureThreshold: opt(int(1, 100)),
});

export const containerPortSchema = z.looseObject({
  containerPort: int(1, 65535),
  hostPort: opt(int(0, 65535)),
  protocol: opt(z.string()),
  name: opt(z.string()),
});

export const volumeMountSchema = z.looseObject({
  name: z.string().min(1),
  mountPath: absolutePath,
  readOnly: opt(z.boolean()),
  subPath: opt(z.string()),
});

export const containerSchema = z.looseObject({
  name: opt(z.string()),
  image: z.string().min(1, "must name the image"),
  command: opt(z.array(processString)),
  args: opt(z.array(processString)),
  workingDir: opt(z.string()),
  env: opt(z.array(envVarSchema)),
  envFrom: opt(z.array(z.unknown())),
  ports: opt(z.array(containerPortSchema)),
  securityContext: opt(
    z.looseObject({
      privileged: opt(z.boolean()),
      runAsUser: opt(int(0)),
      runAsGroup: opt(int(0)),
    }),
  ),
  volumeMounts: opt(z.array(volumeMountSchema)),
  readinessProbe: opt(probeSchema),
  livenessProbe: opt(probeSchema),
  imagePullPolicy: opt(z.enum(["Always", "IfNotPresent", "Never"])),
});

/** Kubernetes' HostPathType: "" means no check. */
export const hostPathType = z.enum(["", ...PATH_TYPES]);

export const volumeSchema = z.looseObject({
  name: z.string().min(1),
  hostPath: opt(z.looseObject({ path: z.string().min(1), type: opt(hostPathType) })),
  emptyDir: opt(
    z.looseObject({ medium: opt(z.string()), sizeLimit: opt(z.union([z.string(), z.number()])) }),
  ),
  configMap: opt(z.looseObject({ name: z.string().min(1), optional: opt(z.boolean()) })),
  secret: opt(z.looseObject({ secretName: z.string().min(1), optional: opt(z.boolean()) })),
});

export const podSpecSchema = z.looseObject({
  nodeName: opt(z.string()),
  containers: z.array(containerSchema).min(1, "must have at least one container"),
  volumes: opt(z.array(volumeSchema)),
  restartPolicy: opt(z.enum(["Always", "OnFailure", "Never"])),
  terminationGracePeriodSeconds: opt(int(0)),
  hostNetwork: opt(z.boolean()),
  initContainers: opt(z.array(z.unknown())),
  securityContext: opt(z.looseObject({ runAsUser: opt(int(0)), runAsGroup: opt(int(0)) })),
  serviceAccountName: opt(z.string()),
  serviceAccount: opt(z.string()),
  automountServiceAccountToken: opt(z.boolean()),
});

export const podTemplateSchema = z.looseObject({
  metadata: opt(z.looseObject({})),
  spec: podSpecSchema,
});

export type EnvVar = z.output<typeof envVarSchema>;
export type Probe = z.output<typeof probeSchema>;
export type Container = z.output<typeof containerSchema>;
export type Volume = z.output<typeof volumeSchema>;
export type VolumeMount = z.output<typeof volumeMountSchema>;
export type PodSpec = z.output<typeof podSpecSchema>;
export type PodTemplate = z.output<typeof podTemplateSchema>;
