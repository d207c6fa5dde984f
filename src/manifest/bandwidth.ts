// A bandwidth as people write it: `1MiB/s`, `512KiB/s`, `2.5M/s`, `1048576` (bytes per second),
// binary units. Parsed in one place for the agent's setting, the cloud's cap on a node
// (PUT /api/v1/nodes/NODE/bandwidth) and `levee ctl node set-bandwidth`, and printed back the same way.

const UNITS = { b: 0, k: 1, m: 2, g: 3 } as const;

/** Bytes per second, or a message saying what is wrong. */
export function parseBandwidth(
  text: string,
): { ok: true; bytesPerSecond: number } | { ok: false; error: string } {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(B|K|KiB|M|MiB|G|GiB)?\s*(?:\/\s*s)?\s*$/i.exec(text);
  const error = `expected a bandwidth such as 1MiB/s, 512KiB/s or 1048576 (bytes/s), not ${JSON.stringify(text)}`;
  if (!m) return { ok: false, error };
  const unit = (m[2] ?? "b").charAt(0).toLowerCase() as keyof typeof UNITS;
  const bytesPerSecond = Math.floor(Number(m[1]) * 1024 ** UNITS[unit]);
  if (!(bytesPerSecond >= 1)) return { ok: false, error: `${error}: at least 1 byte/s` };
  return { ok: true, bytesPerSecond };
}

/** 1048576 → "1MiB/s"; 1500 → "1500B/s". */
export function formatBandwidth(bytesPerSecond: number): string {
  for (const [unit, power] of [
    ["GiB", 3],
    ["MiB", 2],
    ["KiB", 1],
  ] as const) {
    const scale = 1024 ** power;
    if (bytesPerSecond >= scale && bytesPerSecond % (scale / 1024) === 0) {
      const value = bytesPerSecond / scale;
      if (Number.isInteger(value * 100)) return `${value}${unit}/s`;
    }
  }
  return `${bytesPerSecond}B/s`;
}
