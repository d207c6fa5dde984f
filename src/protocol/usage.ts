// CPU and memory usage as agents measure it (src/node/usage/) and as a heartbeat carries it to the
// cloud (docs/PROTOCOL.md, "Usage"): the plain shape both sides store and read, the wire form
// (rounded: CPU in millicores, memory in KiB, the worker list cut to a byte budget so that a
// heartbeat stays small), and the conversions between them.
import { z } from "zod";

/**
 * How often a node reports its usage: at most once per this many seconds (with a heartbeat). As
 * metrics-server's default resolution; 30 s kept a busy node's usage at half of its idle sync bytes.
 */
export const USAGE_REPORT_SECONDS = 60;
/** A usage that did not move is reported again only this often (node/usage/usage-report.ts). */
export const USAGE_REFRESH_SECONDS = 300;
/** Worker entries a usage report may carry (a hard bound; the byte budget usually cuts first). */
export const MAX_USAGE_WORKERS = 10_000;
/** The most bytes the worker entries of one report take on the wire. */
export const USAGE_WORKERS_MAX_BYTES = 256 * 1024;

/** What was used over one window: CPU as a rate over it, memory at its end. */
export interface Usage {
  cpuNanocores: number;
  memoryBytes: number;
  /** Length of the window the CPU rate is measured over. */
  windowSeconds: number;
  /** When the window ended (ISO 8601, the measuring node's clock). */
  sampledAt: string;
}

/** A node's usage, with its capacity. */
export interface NodeUsage extends Usage {
  /** CPUs online. */
  cpus: number;
  /** Memory the kernel manages (MemTotal), bytes. */
  memoryCapacityBytes: number;
}

/** One worker's usage (the sum over its process group or its container). */
export interface WorkerUsage extends Usage {
  service: string;
  index: number;
}

/** One sample of a node: itself and its running workers, all over the same window. */
export interface UsageSample {
  node: NodeUsage;
  workers: WorkerUsage[];
}

const amount = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const workerUsageReportSchema = z.object({
  service: z.string().min(1).max(253),
  index: z.number().int().min(0),
  cpuMillicores: amount,
  memoryKiB: amount,
});

/** The optional `usage` field of a heartbeat. */
export const usageReportSchema = z.object({
  sampledAt: z.string().min(1).max(64),
  windowSeconds: z.number().min(0).max(86_400),
  node: z.object({
    cpuMillicores: amount,
    memoryKiB: amount,
    cpus: z.number().int().min(0).max(1_000_000),
    memoryCapacityKiB: amount,
  }),
  workers: z.array(workerUsageReportSchema).max(MAX_USAGE_WORKERS),
});

export type UsageReport = z.infer<typeof usageReportSchema>;

const millicores = (nanocores: number) => Math.max(0, Math.round(nanocores / 1e6));
const kib = (bytes: number) => Math.max(0, Math.round(bytes / 1024));

/**
 * A sample in its wire form. Workers in (service, index) order; those beyond the byte budget or
 * the entry bound are left out (the same ones every time), so the report always fits.
 */
export function toUsageReport(sample: UsageSample): UsageReport {
  const { node } = sample;
  const workers: UsageReport["workers"] = [];
  let bytes = 0;
  const ordered = [...sample.workers].sort((a, b) =>
    a.service === b.service ? a.index - b.index : a.service < b.service ? -1 : 1,
  );
  for (const w of ordered) {
    const entry = {
      service: w.service,
      index: w.index,
      cpuMillicores: millicores(w.cpuNanocores),
      memoryKiB: kib(w.memoryBytes),
    };
    bytes += Buffer.byteLength(JSON.stringify(entry), "utf8") + 1;
    if (bytes > USAGE_WORKERS_MAX_BYTES || workers.length >= MAX_USAGE_WORKERS) break;
    workers.push(entry);
  }
  return {
    sampledAt: node.sampledAt,
    windowSeconds: Math.round(node.windowSeconds * 1000) / 1000,
    node: {
      cpuMillicores: millicores(node.cpuNanocores),
      memoryKiB: kib(node.memoryBytes),
      cpus: node.cpus,
      memoryCapacityKiB: kib(node.memoryCapacityBytes),
    },
    workers,
  };
}

/** A report back in the plain shape (CPU and memory at the report's precision). */
export function fromUsageReport(report: UsageReport): UsageSample {
  const { sampledAt, windowSeconds } = report;
  return {
    node: {
      cpuNanocores: report.node.cpuMillicores * 1e6,
      memoryBytes: report.node.memoryKiB * 1024,
      cpus: report.node.cpus,
      memoryCapacityBytes: report.node.memoryCapacityKiB * 1024,
      windowSeconds,
      sampledAt,
    },
    workers: report.workers.map((w) => ({
      service: w.service,
      index: w.index,
      cpuNanocores: w.cpuMillicores * 1e6,
      memoryBytes: w.memoryKiB * 1024,
      windowSeconds,
      sampledAt,
    })),
  };
}
