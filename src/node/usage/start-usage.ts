// Starts this node's usage sampling (usage-sampler.ts, on /proc and Docker) over the supervisor's
// workers, stopped with the agent, and returns what its heartbeats report from it.

import { systemClock } from "../link/clock.ts";
import type { LocalNode } from "../local-node.ts";
import type { Supervisor } from "../workers/supervisor.ts";
import { hostReaders } from "./host-readers.ts";
import { UsageReporter } from "./usage-report.ts";
import { UsageSampler } from "./usage-sampler.ts";
import { latestUsageSample } from "./usage-store.ts";

export function startUsage(
  node: Pick<LocalNode, "config" | "store" | "log" | "lifecycle">,
  supervisor: Pick<Supervisor, "snapshot">,
): UsageReporter {
  const { config, store, log, lifecycle } = node;
  const sampler = new UsageSampler({
    readers: hostReaders({ dockerSocket: config.dockerSocket }),
    workers: () => supervisor.snapshot(),
    store,
    clock: systemClock,
    log: log.child({ component: "usage" }),
  });
  sampler.start();
  lifecycle.add("usage", () => sampler.stop());
  return new UsageReporter(() => latestUsageSample(store.db));
}
