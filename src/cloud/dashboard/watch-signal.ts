// Tells the nodes whether a dashboard is watching (src/protocol/traffic.ts): the retained watch
// signal on levee/v1/shared/dashboard. While some browser has a dashboard page open (the live
// feed has watchers), the signal says "watching" and is published again every `republishMs`, well
// within its time to live, so nodes keep reporting; when the last one leaves, the retained message
// is cleared (an empty payload) and nodes stop. If the cloud dies while watching, nodes stop by
// themselves when the time to live runs out. A publish that fails (the cloud's link is down) is
// tried again after `retryMs`. How often nodes report scales with the fleet (reportInterval): every
// 2 s up to 200 nodes, then as often as keeps the cloud at about REPORTS_PER_SECOND reports.
import { encodeWatchSignal, WATCH_FORMAT } from "../../protocol/traffic.ts";

/** The most traffic reports a second the signal asks the fleet for (their cost at the cloud). */
export const REPORTS_PER_SECOND = 100;

/** How often `nodes` nodes report: every 2 s, less often past REPORTS_PER_SECOND (at most 10 s). */
export function reportInterval(nodes: number): number {
  return Math.min(10, Math.max(2, Math.ceil(nodes / REPORTS_PER_SECOND)));
}

export interface WatchSignalOptions {
  /** Publishes the retained signal; false when it could not. */
  publish: (payload: Buffer) => boolean;
  /** Seconds between a node's reports (read at each publish); default 2. */
  intervalSeconds?: number | (() => number);
  ttlSeconds?: number;
  republishMs?: number;
  retryMs?: number;
}

export class WatchSignalPublisher {
  private watching = false;
  /** Whether the current state was published. */
  private published = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  constructor(private readonly options: WatchSignalOptions) {}

  /** Clears a signal a previous run may have left retained. */
  start(): void {
    this.publishNow();
  }

  set(watching: boolean): void {
    if (watching === this.watching && this.published) return;
    this.watching = watching;
    this.published = false;
    this.publishNow();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private interval(): number {
    const interval = this.options.intervalSeconds ?? 2;
    return typeof interval === "number" ? interval : interval();
  }

  private publishNow(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const payload = this.watching
      ? encodeWatchSignal({
          v: WATCH_FORMAT,
          watching: true,
          intervalSeconds: this.interval(),
          ttlSeconds: this.options.ttlSeconds ?? 60,
        })
      : Buffer.alloc(0);
    this.published = this.options.publish(payload);
    const delay = !this.published
      ? (this.options.retryMs ?? 2000)
      : this.watching
        ? (this.options.republishMs ?? 20_000)
        : 0;
    if (delay > 0) {
      this.timer = setTimeout(() => this.publishNow(), delay);
      this.timer.unref?.();
    }
  }
}
