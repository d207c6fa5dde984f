// What the dialer remembers per node: whether its direct address answered lately (so that a node
// behind NAT costs the direct connect timeout once, not on every dial), which address worked, and
// how far away it is (EWMA of the TLS handshake time, direct or relayed) for "nearest" decisions.
// A node marked unreachable is dialed through the relay; when the mark expires the next dial still
// goes through the relay while one background probe tries the direct path again; each failed probe
// doubles the mark (30 s up to 5 min). Pure: the clock is injected.

export interface ReachabilityOptions {
  now?: () => number;
  retryMs?: number;
  maxRetryMs?: number;
}

export interface DialPlan {
  /** Try the direct path first (else go to the relay at once). */
  direct: boolean;
  /** Also probe the direct path in the background. */
  probe: boolean;
}

interface NodePath {
  downUntil?: number;
  failures: number;
  address?: string;
  directMs?: number;
  relayMs?: number;
}

const ALPHA = 0.3;
const ewma = (old: number | undefined, sample: number) =>
  old === undefined ? sample : old + ALPHA * (sample - old);

export class Reachability {
  private readonly nodes = new Map<string, NodePath>();
  private readonly now: () => number;
  private readonly retryMs: number;
  private readonly maxRetryMs: number;

  constructor(options: ReachabilityOptions = {}) {
    this.now = options.now ?? Date.now;
    this.retryMs = options.retryMs ?? 30_000;
    this.maxRetryMs = options.maxRetryMs ?? 300_000;
  }

  private path(node: string): NodePath {
    let p = this.nodes.get(node);
    if (!p) {
      p = { failures: 0 };
      this.nodes.set(node, p);
    }
    return p;
  }

  plan(node: string): DialPlan {
    const p = this.nodes.get(node);
    if (p?.downUntil === undefined) return { direct: true, probe: false };
    if (this.now() < p.downUntil) return { direct: false, probe: false };
    // One probe per expiry: until it reports, dials keep using the relay.
    p.downUntil = this.now() + this.delay(p.failures);
    return { direct: false, probe: true };
  }

  /** The address that worked last, to try first. */
  preferredAddress(node: string): string | undefined {
    return this.nodes.get(node)?.address;
  }

  directOk(node: string, address: string, handshakeMs: number): void {
    const p = this.path(node);
    p.downUntil = undefined;
    p.failures = 0;
    p.address = address;
    p.directMs = ewma(p.directMs, handshakeMs);
  }

  directFailed(node: string): void {
    const p = this.path(node);
    p.downUntil = this.now() + this.delay(p.failures);
    p.failures++;
  }

  relayOk(node: string, handshakeMs: number): void {
    const p = this.path(node);
    p.relayMs = ewma(p.relayMs, handshakeMs);
  }

  /** Whether the direct path is currently believed down. */
  directDown(node: string): boolean {
    return this.nodes.get(node)?.downUntil !== undefined;
  }

  /** Estimated cost of reaching the node (ms): the path in use; undefined before any dial. */
  distance(node: string): number | undefined {
    const p = this.nodes.get(node);
    if (!p) return undefined;
    return p.downUntil === undefined ? (p.directMs ?? p.relayMs) : (p.relayMs ?? undefined);
  }

  private delay(failures: number): number {
    return Math.min(this.maxRetryMs, this.retryMs * 2 ** Math.min(failures, 20));
  }
}
