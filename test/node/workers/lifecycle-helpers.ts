// What the worker lifecycle tests share: templates as the manifest parses them, a quiet logger,
// waiting for a condition on real timers, and draining the microtasks a handled event queues.
import { type Template, templateSchema } from "../../../src/manifest/template.ts";
import { createLogger } from "../../../src/runtime/log.ts";

export const quietLog = createLogger({ level: "error", format: "text", write: () => {} });

/** A worker template with the manifest's defaults, command ["worker"] unless fields say otherwise. */
export function template(fields: Record<string, unknown> = {}): Template {
  return templateSchema.parse({ command: ["worker"], ...fields });
}

/** A command health check every 5 ms (the fake driver answers it). */
export function fastHealth(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { command: ["check"], interval: "5ms", timeout: "1s", failureThreshold: 2, ...extra };
}

/** Polls `condition` on real timers until it holds; fails the test after timeoutMs, saying what. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await Bun.sleep(2);
  }
}

/** Lets the events queued so far be handled (no timers involved: works with fake timers too). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
