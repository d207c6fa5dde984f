// The health gate of an agent upgrade, run by every agent at start (upgrade-files.ts describes
// the files). An agent at the version a pending upgrade names commits it once it is Ready (every
// readiness check passes: its store, its link to the cloud, its mesh) and has adopted every worker
// that ran before the swap, with the same pid; until then it waits, and if the deadline passes
// the guard (the old binary) claims the upgrade and rolls back. An agent that finds the guard's
// claim (rollback.json) is the old binary back: it records the rolled-back result for the cloud.
// gateVerdict is the pure decision; startHealthGate polls it.
import { unlinkSync } from "node:fs";
import type { Logger } from "../../runtime/log.ts";
import type { AdoptedWorker, PendingUpgrade, UpgradeFiles, UpgradeResult } from "./upgrade-files.ts";

export type GateVerdict =
  | { kind: "commit" }
  | { kind: "wait"; why: string }
  | { kind: "expired"; why: string };

export interface GateView {
  ready: true | string;
  /** The workers this agent runs (pid null: not a process it knows the pid of). */
  workers: readonly { service: string; index: number; pid: number | null }[];
  now: number;
}

export function gateVerdict(pending: PendingUpgrade, view: GateView): GateVerdict {
  const why = waitingFor(pending.workers, view);
  if (why === undefined) return { kind: "commit" };
  return view.now > pending.deadline ? { kind: "expired", why } : { kind: "wait", why };
}

function waitingFor(before: readonly AdoptedWorker[], view: GateView): string | undefined {
  if (view.ready !== true) return `not ready: ${view.ready}`;
  for (const w of before) {
    const now = view.workers.find((x) => x.service === w.service && x.index === w.index);
    if (!now) return `worker ${w.service}[${w.index}] (pid ${w.pid}) not adopted`;
    if (now.pid !== w.pid)
      return `worker ${w.service}[${w.index}] runs as pid ${now.pid}, not ${w.pid} as before`;
  }
  return undefined;
}

export interface HealthGateOptions {
  files: UpgradeFiles;
  version: string;
  view: () => Omit<GateView, "now">;
  /** A result to report now (and after every welcome, from result.json). */
  report: (result: UpgradeResult) => void;
  log: Logger;
  now?: () => number;
  intervalMs?: number;
}

/** Looks at the upgrade files once at start; polls the gate while an upgrade to this version is pending. */
export function startHealthGate(o: HealthGateOptions): { stop(): void } {
  const now = o.now ?? Date.now;
  const { files, log } = o;
  const finish = (p: PendingUpgrade, state: UpgradeResult["state"], reason: string) => {
    const result = { rollout: p.rollout, state, from: p.from, to: p.to, reason };
    files.writeResult(result);
    o.report(result);
  };
  const rolledBack = files.readRollback();
  if (rolledBack) {
    finish(rolledBack, "rolled-back", rolledBack.reason ?? "rolled back by the upgrade guard");
    log.warn("the agent upgrade was rolled back", { to: rolledBack.to, reason: rolledBack.reason });
    unlinkSync(files.path("rollback.json"));
  }
  const pending = files.readPending();
  if (!pending) return { stop() {} };
  files.writeAgentPid(process.pid);
  if (pending.to !== o.version) {
    // The old binary started while the upgrade was pending (the swap did not happen, or systemd
    // started it before the guard's claim): the upgrade did not take.
    if (files.claim("rollback.json")) {
      finish(pending, "rolled-back", `the agent started again at ${o.version}, not ${pending.to}`);
      unlinkSync(files.path("rollback.json"));
    }
    return { stop() {} };
  }
  log.info("agent upgrade pending: waiting for the health gate", {
    from: pending.from,
    workers: pending.workers.length,
    deadline: new Date(pending.deadline).toISOString(),
  });
  let last = "";
  const timer = setInterval(() => {
    const verdict = gateVerdict(pending, { ...o.view(), now: now() });
    if (verdict.kind === "commit") {
      clearInterval(timer);
      if (!files.claim("committed.json")) return; // the guard claimed it first: it rolls back
      finish(pending, "done", `${pending.to} ready with ${pending.workers.length} worker(s) adopted`);
      log.info("agent upgrade committed", { from: pending.from, to: pending.to });
      return;
    }
    if (verdict.why !== last)
      log.info("health gate waiting", { why: verdict.why, expired: verdict.kind === "expired" });
    last = verdict.why;
  }, o.intervalMs ?? 250);
  return { stop: () => clearInterval(timer) };
}
