// Runs the agent upgrade rollouts (levee ctl upgrade): creates one from the request (the binaries
// must be artifacts already; each is signed with the plan-signing key), then on every tick and
// every node report asks the planner (rollout-planner.ts) what to do, writes it (upgrade-store.ts,
// one transaction) and sends the orders after the commit. Orders travel as `upgrade` messages on
// the node's down topic (src/protocol/upgrade.ts) rather than in the plan: an order is for one
// rollout and one turn, not desired state, and the plan's hash must not change (and every plan
// be re-sent) when a rollout starts, pauses or stops; an order lost or sent to a node that was
// offline is simply sent again (the planner resends it while unanswered, and offline nodes get
// theirs in a batch after they are back).
import { randomUUID } from "node:crypto";
import { parseLabelSelector } from "../../kube/selectors.ts";
import { durationMs } from "../../manifest/duration.ts";
import { encodeMessage, type MessageOf, newMessage } from "../../protocol/messages.ts";
import { downTopic } from "../../protocol/topics.ts";
import { compareVersions, UPGRADE_FORMAT, type UpgradeBinary } from "../../protocol/upgrade.ts";
import type { Logger } from "../../runtime/log.ts";
import type { Store } from "../../store/store.ts";
import { ApiError } from "../api-error.ts";
import { nodeLabels, roleOf } from "../node-labels.ts";
import type { PlanSigner } from "../plan-signing-key.ts";
import { type PlannerTimes, parseMaxUnavailable, planRollout } from "./rollout-planner.ts";
import { type Rollout, type RolloutNode, UpgradeStore } from "./upgrade-store.ts";

export interface UpgradeRequest {
  version: string;
  binaries: { target: string; sha256: string }[];
  selector?: string | undefined;
  maxUnavailable?: string | undefined;
  pause?: string | undefined;
  timeout?: string | undefined;
  allowDowngrade?: boolean | undefined;
  includeCloud?: boolean | undefined;
}

export interface UpgradeStatus {
  rollout: Omit<Rollout, "binaries" | "keyId" | "batchOpen" | "batchEndedAt" | "maxUnavailable"> & {
    targets: string[];
    maxUnavailable: string;
  };
  nodes: (RolloutNode & { to: string })[];
}

export interface UpgradeDriverOptions {
  store: Store;
  signer: PlanSigner;
  log: Logger;
  /** The cloud's own node: upgraded last, and only with includeCloud. */
  cloudNode: string;
  /** An artifact's size, or undefined when the cloud does not have it. */
  artifactSize: (sha256: string) => number | undefined;
  publish: (topic: string, payload: Buffer) => boolean;
  now?: () => number;
  tickMs?: number;
  times?: PlannerTimes;
}

export class UpgradeDriver {
  private readonly rollouts: UpgradeStore;
  private readonly now: () => number;
  private timer: ReturnType<typeof setInterval> | undefined;
  /** After stop(): a tick a report queued does not touch the (closing) store. */
  private stopped = false;

  constructor(private readonly o: UpgradeDriverOptions) {
    this.rollouts = new UpgradeStore(o.store);
    this.now = o.now ?? Date.now;
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), this.o.tickMs ?? 1000);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  create(req: UpgradeRequest): UpgradeStatus {
    const { store, signer } = this.o;
    const max = req.maxUnavailable ?? "1";
    const maxProblem = parseMaxUnavailable(max);
    if (typeof maxProblem === "string") throw new ApiError(400, `maxUnavailable: ${maxProblem}`);
    const pauseMs = durationField("pause", req.pause ?? "0s");
    const timeoutSeconds = Math.round(durationField("timeout", req.timeout ?? "120s") / 1000);
    if (timeoutSeconds < 5 || timeoutSeconds > 3600) throw new ApiError(400, "timeout: between 5s and 1h");
    if (compareVersions(req.version, req.version) === undefined)
      throw new ApiError(
        400,
        `version: expected MAJOR.MINOR.PATCH[-PRE], not ${JSON.stringify(req.version)}`,
      );
    if (req.binaries.length === 0) throw new ApiError(400, "binaries: at least one (target and sha256)");
    const binaries: UpgradeBinary[] = req.binaries.map((b) => {
      const size = this.o.artifactSize(b.sha256);
      if (size === undefined)
        throw new ApiError(409, `binaries: the cloud has no artifact ${b.sha256} (levee ctl artifact push)`);
      const statement = { target: b.target, version: req.version, sha256: b.sha256, size };
      return { ...statement, signature: signer.signBinary(statement) };
    });
    const selects = selectorOf(req.selector);
    return store.tx(() => {
      const active = this.rollouts.active();
      if (active)
        throw new ApiError(
          409,
          `rollout ${active.id} to ${active.version} is ${active.state}: levee ctl upgrade abort first`,
        );
      const nodes = store.db
        .query<{ name: string; labels: string; role: string; agent_version: string }, []>(
          "SELECT name, labels, role, agent_version FROM nodes ORDER BY name",
        )
        .all()
        .filter((n) => selects(nodeLabels(JSON.parse(n.labels) as Record<string, string>, roleOf(n.role))))
        .filter((n) => req.includeCloud || n.name !== this.o.cloudNode);
      nodes.sort((a, b) => Number(a.name === this.o.cloudNode) - Number(b.name === this.o.cloudNode));
      if (nodes.length === 0) throw new ApiError(409, "no node matches the selector");
      if (!req.allowDowngrade) {
        const newer = nodes.find((n) => (compareVersions(req.version, n.agent_version) ?? 0) < 0);
        if (newer)
          throw new ApiError(
            409,
            `downgrade refused: node ${newer.name} runs ${newer.agent_version}, newer than ${req.version} (--allow-downgrade)`,
          );
      }
      const id = `u-${randomUUID().slice(0, 8)}`;
      this.rollouts.create(
        {
          id,
          version: req.version,
          binaries,
          keyId: signer.key.keyId,
          selector: req.selector ?? "",
          maxUnavailable: max,
          pauseMs,
          timeoutSeconds,
          allowDowngrade: req.allowDowngrade === true,
          includeCloud: req.includeCloud === true,
          nodes: nodes.map((n) => ({ node: n.name, from: n.agent_version })),
        },
        this.now(),
      );
      this.o.log.info("upgrade rollout created", { id, version: req.version, nodes: nodes.length });
      return this.statusOf(id) as UpgradeStatus;
    });
  }

  /** The active rollout, else the newest; undefined when there was none. */
  status(): UpgradeStatus | undefined {
    const r = this.rollouts.current();
    return r ? this.statusOf(r.id) : undefined;
  }

  /** pause, resume or abort the active rollout. */
  control(action: "pause" | "resume" | "abort"): UpgradeStatus {
    const id = this.o.store.tx(() => {
      const r = this.rollouts.active();
      if (!r) throw new ApiError(409, "no upgrade rollout is running or paused");
      if (action === "pause" && r.state === "running")
        this.rollouts.setState(r.id, "paused", "paused", this.now());
      if (action === "resume" && r.state === "paused")
        this.rollouts.setState(r.id, "running", "", this.now());
      if (action === "abort") this.rollouts.setState(r.id, "aborted", "aborted by the operator", this.now());
      return r.id;
    });
    this.tick();
    return this.statusOf(id) as UpgradeStatus;
  }

  /** A node's report (the sync link calls this inside its batch's transaction). */
  report(node: string, msg: MessageOf<"upgrade-report">): void {
    const r = this.rollouts.get(msg.rollout);
    if (!r || (r.state !== "running" && r.state !== "paused")) return;
    if (this.rollouts.report(r.id, node, msg.state, msg.from, msg.reason, this.now()))
      this.o.log.info("upgrade progress", { node, state: msg.state, reason: msg.reason || undefined });
    // The next step once the link's batch has committed (its orders go out after that).
    setTimeout(() => {
      if (!this.stopped) this.tick();
    }, 0);
  }

  /** One planner step for the active rollout: written, then its orders sent. */
  tick(): void {
    let orders: { rollout: Rollout; nodes: string[] } | undefined;
    try {
      // Most ticks find no rollout: they take no write transaction.
      if (!this.rollouts.active()) return;
      orders = this.o.store.tx(() => {
        const r = this.rollouts.active();
        if (!r) return undefined;
        const now = this.now();
        const step = planRollout(r, this.rollouts.nodeViews(r.id, this.o.cloudNode), now, this.o.times);
        this.rollouts.applyStep(r.id, step, now);
        if (step.rollout?.state)
          this.o.log.info("upgrade rollout ended", {
            id: r.id,
            state: step.rollout.state,
            reason: step.rollout.reason,
          });
        return { rollout: r, nodes: step.order };
      });
    } catch (err) {
      this.o.log.error("upgrade rollout step failed", { error: err });
      return;
    }
    if (!orders) return;
    for (const node of orders.nodes) this.sendOrder(orders.rollout, node);
  }

  private sendOrder(r: Rollout, node: string): void {
    const msg = newMessage(node, {
      type: "upgrade",
      format: UPGRADE_FORMAT,
      rollout: r.id,
      version: r.version,
      allowDowngrade: r.allowDowngrade,
      timeoutSeconds: r.timeoutSeconds,
      keyId: r.keyId,
      binaries: r.binaries,
    });
    if (!this.o.publish(downTopic(node), encodeMessage(msg)))
      this.o.log.warn("cannot send an upgrade order yet (not connected); it is sent again", { node });
  }

  private statusOf(id: string): UpgradeStatus | undefined {
    const r = this.rollouts.get(id);
    if (!r) return undefined;
    const { binaries, keyId: _k, batchOpen: _b, batchEndedAt: _e, maxUnavailable, ...rest } = r;
    return {
      rollout: {
        ...rest,
        targets: binaries.map((b) => b.target),
        maxUnavailable:
          "count" in maxUnavailable ? String(maxUnavailable.count) : `${maxUnavailable.percent}%`,
      },
      nodes: this.rollouts.nodes(id).map((n) => ({ ...n, to: r.version })),
    };
  }
}

function durationField(field: string, text: string): number {
  try {
    return durationMs(text);
  } catch (err) {
    throw new ApiError(400, `${field}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function selectorOf(text: string | undefined): (labels: Record<string, string>) => boolean {
  try {
    return parseLabelSelector(text);
  } catch (err) {
    throw new ApiError(400, `selector: ${err instanceof Error ? err.message : String(err)}`);
  }
}
