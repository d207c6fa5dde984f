// How the dashboard writes numbers and times: bytes in binary units, CPU in cores, "12 s ago".
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 10 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

export function formatCores(cores: number): string {
  return cores >= 10 ? cores.toFixed(0) : cores >= 1 ? cores.toFixed(1) : cores.toFixed(2);
}

/** `iso` relative to `now`: "just now", "12 s ago", "5 min ago", "3 h ago", "2 d ago". */
export function formatAgo(iso: string | null, now: number): string {
  if (!iso) return "never";
  const ms = now - Date.parse(iso);
  if (!Number.isFinite(ms)) return iso;
  if (ms < 2000) return "just now";
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  if (s < 172_800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
}

/**
 * The CSS class of a phase: ok, warn, bad or idle. Nodes: Ready, Disconnected, Lost; workers:
 * pending, starting, running (ready or not), backoff, failed, stopped.
 */
export function phaseClass(phase: string, ready?: boolean): string {
  switch (phase.toLowerCase()) {
    case "ready":
      return "ok";
    case "running":
      return ready === false ? "warn" : "ok";
    case "lost":
    case "failed":
    case "backoff":
      return "bad";
    case "disconnected":
    case "stopped":
      return "idle";
    default:
      return "warn";
  }
}
