// A node's side of staged rollouts: for every service its plan stages (a `staged` generation the
// cloud holds back, src/cloud/staging-hold.ts), fetch everything those workers need (fetchables.ts)
// while the old workers keep running, and report to the cloud, whole, what is there: bytes fetched
// of the total and fetching|ready|failed. The cloud switches the node once the reports allow it.
// Nothing of it is stored on the node: after a restart the stored plan stages again, and what is
// already cached (or partly downloaded) counts at once. A new staged generation, or a plan that no
// longer stages the service, aborts the fetch under way; a failure is tried again after RETRY_MS.
import type { NodePlan } from "../../manifest/plan.ts";
import type { StagingEntry } from "../../protocol/messages.ts";
import { describeError } from "../../runtime/errors.ts";
import type { Logger } from "../../runtime/log.ts";
import { type FetchContext, type Fetcher, fetchItems } from "./fetchables.ts";

/** A failed staging is tried again after this long (or at the next plan that changes it). */
export const RETRY_MS = 30_000;
/** Progress goes to the cloud at most this often; a change of state at once. */
export const REPORT_EVERY_MS = 1_000;

interface Job {
  generation: number;
  abort: AbortController;
  entry: StagingEntry;
  /** The staged generation's workers and what the plan said besides (the cloud's images), for a retry. */
  workers: NodePlan["services"][number]["workers"];
  context: FetchContext;
  retry?: ReturnType<typeof setTimeout>;
}

export interface StagerOptions {
  fetchers: readonly Fetcher[];
  /** Sends the reports, whole (the edge link's reportStaging). */
  report: (entries: StagingEntry[]) => void;
  log: Logger;
}

export class Stager {
  private readonly jobs = new Map<string, Job>();
  private reportTimer: ReturnType<typeof setTimeout> | undefined;
  private lastReport = 0;
  private closed = false;

  constructor(private readonly options: StagerOptions) {}

  /** A plan was applied: stage what it stages, stop staging what it no longer does. */
  apply(plan: Pick<NodePlan, "services" | "images">): void {
    if (this.closed) return;
    const staged = new Map(plan.services.flatMap((s) => (s.staged ? [[s.name, s.staged] as const] : [])));
    let changed = false;
    for (const [service, job] of this.jobs) {
      if (staged.get(service)?.generation === job.generation) continue;
      this.stop(job);
      this.jobs.delete(service);
      changed = true;
    }
    for (const [service, next] of staged) {
      if (this.jobs.has(service)) continue;
      this.start(service, next.generation, next.workers, { images: plan.images ?? {} });
      changed = true;
    }
    if (changed) this.reportNow();
  }

  /** The reports as they are now. */
  entries(): StagingEntry[] {
    return [...this.jobs.values()].map((j) => ({ ...j.entry }));
  }

  close(): void {
    this.closed = true;
    for (const job of this.jobs.values()) this.stop(job);
    this.jobs.clear();
    clearTimeout(this.reportTimer);
  }

  private start(
    service: string,
    generation: number,
    workers: NodePlan["services"][number]["workers"],
    context: FetchContext,
  ): void {
    const job: Job = {
      generation,
      abort: new AbortController(),
      workers,
      context,
      entry: { service, generation, fetched: 0, total: 0, state: "fetching", message: "" },
    };
    this.jobs.set(service, job);
    void this.run(service, job);
  }

  private async run(service: string, job: Job): Promise<void> {
    const { log, fetchers } = this.options;
    const found = fetchItems(fetchers, job.workers, job.context);
    if ("error" in found) return this.failed(service, job, found.error);
    const { items } = found;
    const sizes = items.map((i) => i.size ?? 0);
    const done = items.map(() => 0);
    const update = () => {
      job.entry.fetched = done.reduce((a, b) => a + b, 0);
      job.entry.total = sizes.reduce((a, b) => a + b, 0);
      this.reportSoon();
    };
    job.entry.state = "fetching";
    job.entry.message = items.length === 0 ? "" : `fetching ${items.length} item(s)`;
    update();
    log.info("staging a generation", { service, generation: job.generation, items: items.length });
    try {
      for (const [i, item] of items.entries()) {
        const fetcher = fetchers.find((f) => f.kind === item.kind);
        if (!fetcher) continue;
        await fetcher.fetch(item, job.abort.signal, (received, total) => {
          if (total !== undefined) sizes[i] = total;
          done[i] = received;
          update();
        });
        done[i] = sizes[i] as number;
        update();
      }
    } catch (err) {
      if (job.abort.signal.aborted) return;
      return this.failed(service, job, describeError(err));
    }
    if (job.abort.signal.aborted) return;
    job.entry.state = "ready";
    job.entry.message = "";
    log.info("staged a generation: everything is on the node", {
      service,
      generation: job.generation,
      bytes: job.entry.total,
    });
    this.reportNow();
  }

  private failed(service: string, job: Job, message: string): void {
    job.entry.state = "failed";
    job.entry.message = message;
    this.options.log.warn("staging failed; trying again later", {
      service,
      error: message,
      retryInMs: RETRY_MS,
    });
    this.reportNow();
    job.retry = setTimeout(() => {
      if (this.jobs.get(service) === job && !this.closed) void this.run(service, job);
    }, RETRY_MS);
  }

  private stop(job: Job): void {
    job.abort.abort(new DOMException("the plan no longer stages this generation", "AbortError"));
    clearTimeout(job.retry);
  }

  private reportSoon(): void {
    if (this.reportTimer) return;
    const wait = Math.max(0, this.lastReport + REPORT_EVERY_MS - Date.now());
    this.reportTimer = setTimeout(() => this.reportNow(), wait);
  }

  private reportNow(): void {
    clearTimeout(this.reportTimer);
    this.reportTimer = undefined;
    if (this.closed) return;
    this.lastReport = Date.now();
    this.options.report(this.entries());
  }
}
