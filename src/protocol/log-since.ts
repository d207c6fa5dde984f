// What `--since` accepts for `levee ctl logs` (and the API's ?since=): a duration back from now
// (`30s`, `5m`, `1h30m`, `2d`) or an RFC 3339 time (`2026-05-01T10:00:00Z`). The cloud turns it
// into an absolute time before asking the node, so that the node's clock and the client's do
// not have to agree on "now", only on time itself.

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(?:[0-9]{1,9}(?:ms|s|m|h|d))+$/;
const PART = /([0-9]{1,9})(ms|s|m|h|d)/g;
/** A date and time with a zone (RFC 3339), fractions of a second allowed. */
const TIME =
  /^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})$/;

export type ParsedSince = { ok: true; time: Date } | { ok: false; error: string };

/** A duration in milliseconds (`1h30m` → 5400000), or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  if (!DURATION.test(text)) return undefined;
  let ms = 0;
  for (const [, amount, unit] of text.matchAll(PART)) ms += Number(amount) * (UNIT_MS[unit ?? "s"] ?? 0);
  return ms;
}

/** `--since` as an absolute time: `now` minus a duration, or the time given. */
export function parseSince(text: string, now: Date = new Date()): ParsedSince {
  const value = text.trim();
  const ms = parseDuration(value);
  if (ms !== undefined) return { ok: true, time: new Date(now.getTime() - ms) };
  if (TIME.test(value)) {
    const time = new Date(value.replace(" ", "T"));
    if (!Number.isNaN(time.getTime())) return { ok: true, time };
  }
  return {
    ok: false,
    error: `expected a duration (30s, 5m, 1h30m, 2d) or an RFC 3339 time (2026-05-01T10:00:00Z), got ${JSON.stringify(text)}`,
  };
}
