// Liveness and readiness: /healthz answers while the process runs; /readyz only when every
// registered check passes, and names the ones that do not (503), so probes and humans see why.
import type { Hono } from "hono";

/** A check returns true when ready, or a short reason why not. */
export type ReadinessCheck = () => true | string;

export class Readiness {
  private readonly checks = new Map<string, ReadinessCheck>();

  add(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
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
    return c.json({ status: ready ? "ready" : "not ready", checks, ...identity }, ready ? 200 : 503);
  });
}
