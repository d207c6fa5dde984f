// Durations in manifests: "500ms", "10s", "5m", "1h", or a sum like "1m30s". Manifests keep the
// text as written (so a stored object reads like the applied one); consumers turn it into
// milliseconds with durationMs().
import { z } from "zod";
import { describeValue } from "./issues.ts";

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const SHAPE = /^(?:\d+(?:\.\d+)?[a-zµ]*)+$/;
const PART = /(\d+(?:\.\d+)?)([a-zµ]*)/y;
const EXAMPLE = 'e.g. "500ms", "10s", "5m", "1h" or "1m30s"';

export type DurationResult = { ok: true; ms: number } | { ok: false; message: string };

/** Parses a duration into whole milliseconds, or says what is wrong with it. */
export function parseDuration(text: string): DurationResult {
  if (!SHAPE.test(text))
    return { ok: false, message: `expected a duration, ${EXAMPLE}; got ${JSON.stringify(text)}` };
  let ms = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < text.length) {
    const at = PART.lastIndex;
    const [, number = "", unit = ""] = PART.exec(text) ?? [];
    if (unit === "") {
      const hint = at === 0 && PART.lastIndex === text.length ? ` (did you mean "${text}s"?)` : "";
      return { ok: false, message: `missing unit in ${JSON.stringify(text)}: use ms, s, m or h${hint}` };
    }
    const factor = UNITS[unit];
    if (factor === undefined) {
      return {
        ok: false,
        message: `unknown unit "${unit}" in ${JSON.stringify(text)}: use ms, s, m or h (${EXAMPLE})`,
      };
    }
    ms += Number(number) * factor;
  }
  if (!Number.isFinite(ms) || ms > Number.MAX_SAFE_INTEGER) {
    return { ok: false, message: `duration ${JSON.stringify(text)} is too long` };
  }
  return { ok: true, ms: Math.round(ms) };
}

/** Milliseconds of a duration that was validated already; throws on an invalid one. */
export function durationMs(text: string): number {
  const result = parseDuration(text);
  if (!result.ok) throw new Error(result.message);
  return result.ms;
}

/** The shortest text for a number of milliseconds: 90000 → "1m30s", 500 → "500ms", 0 → "0s". */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  let rest = Math.round(ms);
  let out = "";
  for (const [unit, factor] of [
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
    ["ms", 1],
  ] as const) {
    const n = Math.floor(rest / factor);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * factor;
  }
  return out;
}

/**
 * A duration for people to read, rounded to what matters: `500ms`, `1.5s`, `16s`, `4m32s` (a
 * jittered backoff of 15544 ms reads `16s`, not `15s544ms`). formatDuration stays exact.
 */
export function roundedDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  if (ms < 10_000) {
    const tenths = Math.round(ms / 100);
    return tenths % 10 === 0 ? `${tenths / 10}s` : `${(tenths / 10).toFixed(1)}s`;
  }
  return formatDuration(Math.round(ms / 1000) * 1000);
}

export interface DurationOptions {
  /** Smallest allowed value in milliseconds (default 0). */
  min?: number;
  max?: number;
  /** A word allowed instead of a duration, e.g. "never". */
  keyword?: string;
}

/** A duration field: a string, checked by parseDuration and the bounds. */
export function duration(options: DurationOptions = {}) {
  const { min = 0, max, keyword } = options;
  const orKeyword = keyword === undefined ? "" : ` or "${keyword}"`;
  return z
    .string({
      error: (iss) =>
        iss.input === undefined
          ? "required"
          : `expected a duration string${orKeyword}, ${EXAMPLE}; got ${describeValue(iss.input)}`,
    })
    .superRefine((text, ctx) => {
      if (keyword !== undefined && text === keyword) return;
      const result = parseDuration(text);
      if (!result.ok) {
        const message = SHAPE.test(text)
          ? result.message
          : `expected a duration${orKeyword}, ${EXAMPLE}; got ${JSON.stringify(text)}`;
        ctx.addIssue({ code: "custom", message, input: text });
      } else if (result.ms < min) {
        const message = min === 1 ? "must be longer than 0" : `must be at least ${formatDuration(min)}`;
        ctx.addIssue({ code: "custom", message, input: text });
      } else if (max !== undefined && result.ms > max) {
        ctx.addIssue({ code: "custom", message: `must be at most ${formatDuration(max)}`, input: text });
      }
    })
    .meta({ description: `a duration${orKeyword}, ${EXAMPLE}` });
}
