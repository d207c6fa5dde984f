// A node's download bandwidth cap, shared by all its concurrent downloads: each chunk received is
// reserved from one token bucket (token-bucket.ts) and the reader waits out its delay before
// reading on, so TCP's flow control slows the sender to the cap and the link keeps the rest for the
// application's traffic. The cap in force is the lower of the node's own setting and the one the
// cloud sets (effectiveCap): a node cannot raise what the cloud limits. Without either, no wait.
import { sleep } from "../../runtime/abort.ts";
import { burstFor, TokenBucket } from "./token-bucket.ts";

/** The cap in force, bytes/s: the lower of the two when both are set; undefined: unlimited. */
export function effectiveCap(local: number | undefined, cloud: number | undefined): number | undefined {
  if (local === undefined) return cloud;
  if (cloud === undefined) return local;
  return Math.min(local, cloud);
}

export class BandwidthLimit {
  private bucket: TokenBucket | undefined;
  private local: number | undefined;
  private cloud: number | undefined;

  constructor(
    local: number | undefined,
    private readonly now: () => number = Date.now,
  ) {
    this.local = local;
    this.apply();
  }

  /** The cap the cloud sets for this node (undefined: none). */
  setCloudCap(bytesPerSecond: number | undefined): void {
    this.cloud = bytesPerSecond;
    this.apply();
  }

  /** The cap in force, bytes/s (undefined: unlimited). */
  get bytesPerSecond(): number | undefined {
    return this.bucket?.bytesPerSecond;
  }

  /** Waits until `bytes` more may be received (at once when unlimited). */
  async take(bytes: number, signal: AbortSignal): Promise<void> {
    const wait = this.bucket?.reserve(bytes, this.now()) ?? 0;
    if (wait > 0) await sleep(wait, signal);
  }

  private apply(): void {
    const cap = effectiveCap(this.local, this.cloud);
    if (cap === undefined) this.bucket = undefined;
    else if (this.bucket === undefined) this.bucket = new TokenBucket(cap, burstFor(cap), this.now());
    else if (this.bucket.bytesPerSecond !== cap) this.bucket.setRate(cap, this.now());
  }
}
