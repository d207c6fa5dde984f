// Liveness and readiness: /healthz answers while the process runs; /readyz only when every
// registered check passes, and names the ones that do not (503), so probes and humans see why.
// Details (e.g. the mesh's fast path being unavailable) are shown by /readyz and never fail it.
import type { Hono } from "hono";

/** A check returns true when ready, or a short reason why not. */
export type ReadinessCheck = () => true | string;

export class Readiness {
  private readonly checks = new Map<string, ReadinessCheck>();
  private readonly details = new Map<string, () => string>();

  add(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  /** Something /readyz shows under details, whatever it says (not a check). */
  detail(name: string, describe: () => string): void {
    this.details.set(name, describe);
  }

  /** The details by name. */
  describe(): Record<string, string> {
    const details: Record<string, string> = {};
    for (const [name, describe] of this.details) {
      try {
        details[name] = describe();
      } catch (err) {
        details[name] = err instanceof Error ? err.message : String(err);
      }
    }
    return details;
  }

  report(): { ready: boolean; checks: Record<string, string> } {
    const checks: Record<string, string> = {};
    let ready = true;
    for (const [name, check] of this.checks) {
      let result: true | string;
      try {
        result = check();
      } catch (err) {
        result = err instanceof Error ? err.message : String(err);
      }
      checks[name] = result === true ? "ok" : result;
      if (result !== true) ready = false;
    }
    return { ready, checks };
  }
}

export function mountHealthRoutes(app: Hono, readiness: Readiness, identity: Record<string, string>): void {
  app.get("/healthz", (c) => c.json({ status: "ok", ...identity }));
  app.get("/readyz", (c) => {
    const { ready, checks } = readiness.report();
    const details = readiness.describe();
    const body = { status: ready ? "ready" : "not ready", checks, ...identity };
    return c.json(Object.keys(details).length > 0 ? { ...body, details } : body, ready ? 200 : 503);
  });
}
