// The live summary `levee demo` prints every few seconds (pure): the distributor's GET /stats of
// the Dayu-like pipeline turned into three lines: throughput and correctness, per-stage latency,
// where the tasks ran (and each node's CPU from the monitors).

/** What the pipeline's distributor answers on GET /stats (the parts the summary reads). */
export interface PipelineStats {
  tasks: { received: number; duplicates: number; perSecond: number };
  latencyMs: Record<string, { p50: number | null; p99: number | null }>;
  ranOn: Record<string, number>;
  placement: { sameNode: number; otherEdge: number; cloud: number };
  generators: Record<string, { generated: number; received: number; missing: number; failed: number }>;
  byteMismatches: number;
  violations: number;
  resources: Record<string, { cpuPercent?: number }>;
}

const STAGES = ["upload", "schedule", "process", "distribute", "total"];

export function formatSummary(stats: PipelineStats, elapsedMs: number): string[] {
  const gens = Object.values(stats.generators);
  const generated = gens.reduce((n, g) => n + g.generated, 0);
  const waiting = gens.reduce((n, g) => n + g.missing, 0);
  const failed = gens.reduce((n, g) => n + g.failed, 0);
  const head =
    `[${formatElapsed(elapsedMs)}] ${stats.tasks.perSecond.toFixed(1)} tasks/s · ` +
    `${generated} generated, ${stats.tasks.received} done, ${waiting} on the way` +
    `${failed > 0 ? `, ${failed} GIVEN UP` : ""} · duplicates ${stats.tasks.duplicates} · ` +
    `byte errors ${stats.byteMismatches} · wrong node ${stats.violations}`;
  const latency = STAGES.map((stage) => {
    const l = stats.latencyMs[stage];
    return `${stage} ${ms(l?.p50)}/${ms(l?.p99)}`;
  }).join("  ");
  const total = Object.values(stats.ranOn).reduce((n, c) => n + c, 0);
  const ranOn = Object.entries(stats.ranOn)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([node, count]) => `${node} ${count}`)
    .join(" · ");
  const p = stats.placement;
  const where =
    total > 0
      ? ` (same node ${pct(p.sameNode, total)}, other edge ${pct(p.otherEdge, total)}, cloud ${pct(p.cloud, total)})`
      : "";
  const cpu = Object.entries(stats.resources)
    .sort(([a], [b]) => a.localeCompare(b))
    .filter(([, r]) => typeof r.cpuPercent === "number")
    .map(([node, r]) => `${node} ${Math.round(r.cpuPercent as number)}%`)
    .join(" · ");
  return [
    head,
    `    latency ms p50/p99: ${latency}`,
    `    ran on: ${ranOn || "nothing yet"}${where}`,
    ...(cpu ? [`    cpu: ${cpu}`] : []),
  ];
}

function ms(value: number | null | undefined): string {
  return value === null || value === undefined ? "-" : String(Math.round(value));
}

function pct(part: number, total: number): string {
  return `${Math.round((100 * part) / total)}%`;
}

function formatElapsed(ms: number): string {
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}
