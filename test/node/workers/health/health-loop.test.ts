// The health loop reports every probe (the agent's levee_health_checks_total), passed or not, as
// well as the ready / not ready changes; a command check with a scripted runner stands in for a worker.
import { describe, expect, test } from "bun:test";
import { healthSchema } from "../../../../src/manifest/health.ts";
import { HealthLoop } from "../../../../src/node/workers/health/health-loop.ts";
import { waitUntil } from "../../../harness/cluster.ts";

describe("HealthLoop", () => {
  test("every probe is reported, then the verdicts; stop ends the probing", async () => {
    const health = healthSchema.parse({
      command: ["check"],
      interval: "1s",
      timeout: "1s",
      failureThreshold: 1,
    });
    const script = [true, true, false, true];
    let runs = 0;
    const probes: boolean[] = [];
    const verdicts: boolean[] = [];
    const loop = new HealthLoop(
      health,
      undefined,
      async () => {
        const ok = script[runs++ % script.length] as boolean;
        return { ok, detail: ok ? "ok" : "exit 1" };
      },
      {
        ready: (ready) => verdicts.push(ready),
        unhealthy: () => {},
        probed: (passed) => probes.push(passed),
      },
    );
    // Until first ready the loop probes every 250 ms, then at its 1 s interval.
    await waitUntil("four probes", () => probes.length >= 4, 5_000);
    loop.stop();
    const seen = probes.length;
    expect(probes.slice(0, 4)).toEqual([true, true, false, true]);
    expect(verdicts.slice(0, 3)).toEqual([true, false, true]);
    await Bun.sleep(1_100);
    expect(probes.length).toBe(seen);
  });
});
