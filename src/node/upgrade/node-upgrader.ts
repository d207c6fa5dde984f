// A node's side of an agent upgrade, before the restart: takes the cloud's order, checks it
// (format, this agent's target, a downgrade, the signature by the cloud's plan-signing key), has
// the binary downloaded (resumable, sha256-verified), runs it once (`NEW version`) to see that it
// is an executable for this target at the version ordered, then swaps it in (the old one kept)
// with the pending-upgrade file and restarts the agent (upgrade-effects.ts does the I/O). The
// new agent's health gate (health-gate.ts) or the guard (guard.ts) finishes it. Each step is
// reported to the cloud; an order repeated while one is under way, or after it ended, is answered
// with where it is. Every effect is injected: the unit tests drive it with fakes.
import type { MessageOf } from "../../protocol/messages.ts";
import type { PlanKey } from "../../protocol/plan-signature.ts";
import {
  binarySignatureProblem,
  compareVersions,
  type ReportedState,
  UPGRADE_FORMAT,
  type UpgradeBinary,
} from "../../protocol/upgrade.ts";
import { describeError } from "../../runtime/errors.ts";
import type { AdoptedWorker, PendingUpgrade, UpgradeResult } from "./upgrade-files.ts";

export type UpgradeOrder = MessageOf<"upgrade">;

export interface UpgradeEffects {
  /** What runs now: its version, and its build target (undefined: from source, not upgradable). */
  running: { version: string; target: string | undefined };
  planKey(): PlanKey | undefined;
  /** Why the workers would not survive the restart (stopWorkersOnExit), else undefined. */
  workersStopOnExit(): string | undefined;
  /** Downloads and verifies the binary; resolves to its path. */
  download(binary: UpgradeBinary, version: string): Promise<string>;
  /** Runs `PATH version`; resolves to what it printed. */
  probe(path: string): Promise<{ version: string; target: string }>;
  workers(): AdoptedWorker[];
  /** Keeps the running binary, writes pending.json, renames the new one over it. */
  swap(
    path: string,
    pending: Omit<PendingUpgrade, "execPath" | "previous" | "args" | "cwd" | "systemd" | "oldPid">,
  ): void;
  /** Starts the guard and ends this agent (systemd, or the guard, starts the new one). */
  restart(): void;
  /** The upgrade this agent is the new binary of, while its health gate has not decided. */
  pending(): { rollout: string; to: string } | undefined;
  readResult(): UpgradeResult | undefined;
  writeResult(result: UpgradeResult): void;
  report(result: UpgradeResult): void;
  now(): number;
}

export class NodeUpgrader {
  private busy: { rollout: string; state: ReportedState; to: string } | undefined;

  constructor(private readonly fx: UpgradeEffects) {}

  /** After every welcome: the last outcome goes again (the cloud may have missed it). */
  welcomed(): void {
    if (this.busy) this.say(this.busy.rollout, this.busy.state, this.busy.to, "");
    else {
      const result = this.fx.readResult();
      if (result) this.fx.report(result);
    }
  }

  /** Handles an order; resolves when it failed or the agent is restarting. */
  async order(order: UpgradeOrder): Promise<void> {
    if (this.busy) {
      this.say(this.busy.rollout, this.busy.state, this.busy.to, "");
      return;
    }
    // Before its gate decides, the new agent is not done yet, even at the version ordered.
    const pending = this.fx.pending();
    if (pending) {
      this.say(pending.rollout, "waiting-for-health", pending.to, "");
      return;
    }
    const last = this.fx.readResult();
    if (last && last.rollout === order.rollout && last.to === order.version) {
      this.fx.report(last);
      return;
    }
    const { version } = this.fx.running;
    if (version === order.version) {
      this.finish(order, "done", `already at ${version}`);
      return;
    }
    const check = this.check(order);
    if (typeof check === "string") {
      this.finish(order, "failed", check);
      return;
    }
    this.busy = { rollout: order.rollout, state: "downloading", to: order.version };
    try {
      this.say(order.rollout, "downloading", order.version, `${check.size} bytes`);
      const path = await this.fx.download(check, order.version);
      const probed = await this.fx.probe(path);
      if (probed.version !== order.version)
        throw new Error(`the downloaded binary says it is ${probed.version}, not ${order.version}`);
      if (probed.target.replace(/^bun-/, "") !== this.fx.running.target)
        throw new Error(`the downloaded binary is for ${probed.target}, not ${this.fx.running.target}`);
      this.busy.state = "swapping";
      this.say(order.rollout, "swapping", order.version, "");
      this.fx.swap(path, {
        rollout: order.rollout,
        from: version,
        to: order.version,
        sha256: check.sha256,
        workers: this.fx.workers(),
        deadline: this.fx.now() + order.timeoutSeconds * 1000,
        timeoutSeconds: order.timeoutSeconds,
      });
      this.busy.state = "waiting-for-health";
      this.say(order.rollout, "waiting-for-health", order.version, "restarting on the new binary");
      this.fx.restart();
    } catch (err) {
      this.busy = undefined;
      this.finish(order, "failed", describeError(err));
    }
  }

  /** The binary for this agent, or why the order cannot be carried out. */
  private check(order: UpgradeOrder): UpgradeBinary | string {
    const { version, target } = this.fx.running;
    if (order.format !== UPGRADE_FORMAT)
      return `upgrade order format ${order.format} is not ${UPGRADE_FORMAT}`;
    if (target === undefined)
      return "this agent runs from source (bun src/cli/main.ts): only a compiled levee upgrades itself";
    const binary = order.binaries.find((b) => b.target === target);
    if (!binary)
      return `no binary for this node's target ${target} (the rollout has ${order.binaries.map((b) => b.target).join(", ")})`;
    const cmp = compareVersions(order.version, version);
    if (cmp === undefined) return `cannot compare versions ${order.version} and ${version}`;
    if (cmp < 0 && !order.allowDowngrade)
      return `downgrade refused: this node runs ${version}, newer than ${order.version}`;
    const stops = this.fx.workersStopOnExit();
    if (stops) return stops;
    const key = this.fx.planKey();
    if (!key) return "this node has no cloud signing key to verify the binary with";
    const problem = binarySignatureProblem(
      key,
      order.keyId,
      { ...binary, version: order.version },
      binary.signature,
    );
    return problem ?? binary;
  }

  private finish(order: UpgradeOrder, state: ReportedState, reason: string): void {
    const result = {
      rollout: order.rollout,
      state,
      from: this.fx.running.version,
      to: order.version,
      reason,
    };
    this.fx.writeResult(result);
    this.fx.report(result);
  }

  private say(rollout: string, state: ReportedState, to: string, reason: string): void {
    this.fx.report({ rollout, state, from: this.fx.running.version, to, reason });
  }
}
