// A worker's resource limits (`template.resources`), in Kubernetes' units: cpu as cores ("500m",
// "0.5", 2) and memory as bytes with a suffix ("256Mi", "1G", 67108864). The template keeps the
// values as written (a plan carries the template byte-exact); the node parses them with
// cpuMillis()/memoryBytes() when it starts a worker: exec workers get them as a cgroup's cpu.max
// and memory.max (src/node/workers/drivers/cgroup.ts), containers as Docker's NanoCpus and Memory.
import { z } from "zod";
import { describeValue, strict } from "./issues.ts";

/** Docker refuses a memory limit under 6 MB; no worker runs in less anyway. */
export const MIN_MEMORY_BYTES = 6 * 1024 * 1024;
/** One thousandth of a core: the smallest cpu limit (Kubernetes' 1m). */
const MIN_CPU_MILLIS = 1;

const MEMORY_SUFFIX: Record<string, number> = {
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
};

const MEMORY = /^(\d+(?:\.\d+)?)(|k|M|G|T|P|Ki|Mi|Gi|Ti|Pi)$/;
const CPU = /^(\d+(?:\.\d+)?)(m?)$/;

/** Bytes of a memory quantity ("256Mi" → 268435456), or undefined when it is not one. */
export function memoryBytes(value: string | number): number | undefined {
  if (typeof value === "number") return Number.isSafeInteger(value) && value > 0 ? value : undefined;
  const match = MEMORY.exec(value);
  if (!match) return undefined;
  const bytes = Math.ceil(Number(match[1]) * (MEMORY_SUFFIX[match[2] ?? ""] ?? Number.NaN));
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}

/** Thousandths of a core of a cpu quantity ("500m" → 500, 2 → 2000), or undefined when it is not one. */
export function cpuMillis(value: string | number): number | undefined {
  const match = typeof value === "number" ? CPU.exec(String(value)) : CPU.exec(value);
  if (!match) return undefined;
  const millis = match[2] === "m" ? Number(match[1]) : Number(match[1]) * 1000;
  if (!Number.isInteger(millis)) return undefined;
  return millis > 0 && Number.isSafeInteger(millis) ? millis : undefined;
}

const cpu = z.union([z.string(), z.number()]).superRefine((value, ctx) => {
  const millis = cpuMillis(value);
  if (millis === undefined || millis < MIN_CPU_MILLIS) {
    ctx.addIssue({
      code: "custom",
      message: `expected a cpu quantity: cores (2, "0.5") or thousandths of a core ("500m"), at least "1m"; got ${describeValue(value)}`,
    });
  }
});

const memory = z.union([z.string(), z.number()]).superRefine((value, ctx) => {
  const bytes = memoryBytes(value);
  if (bytes === undefined) {
    ctx.addIssue({
      code: "custom",
      message: `expected a memory quantity: bytes with an optional suffix Ki, Mi, Gi, Ti (powers of 1024) or k, M, G, T (of 1000), e.g. "256Mi"; got ${describeValue(value)}`,
    });
  } else if (bytes < MIN_MEMORY_BYTES) {
    ctx.addIssue({
      code: "custom",
      message: `must be at least 6Mi (${MIN_MEMORY_BYTES} bytes); got ${describeValue(value)}`,
    });
  }
});

export const resourcesSchema = strict({
  cpu: cpu.optional().meta({ description: 'CPU limit in cores: 2, "0.5" or "500m" (thousandths)' }),
  memory: memory
    .optional()
    .meta({ description: 'memory limit: "256Mi", "1Gi", "500M" or bytes; over it the worker is OOMKilled' }),
});

export type Resources = z.output<typeof resourcesSchema>;

/** The limits of a template's resources, parsed; undefined fields have no limit. */
export interface ResourceLimits {
  cpuMillis?: number | undefined;
  memoryBytes?: number | undefined;
}

/** The parsed limits of validated resources (undefined: none at all). */
export function resourceLimits(resources: Resources | undefined): ResourceLimits | undefined {
  if (!resources) return undefined;
  const limits: ResourceLimits = {};
  if (resources.cpu !== undefined) limits.cpuMillis = cpuMillis(resources.cpu);
  if (resources.memory !== undefined) limits.memoryBytes = memoryBytes(resources.memory);
  return limits.cpuMillis === undefined && limits.memoryBytes === undefined ? undefined : limits;
}
