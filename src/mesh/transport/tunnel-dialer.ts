// The mesh's Dialer (contracts.ts): opens a stream to a service on another node. The node's
// catalog entry gives its addresses and tunnel port; the stream is mutual TLS with node
// certificates, and the server's certificate must name exactly the target node.
//
// Direct first, with a short budget (1 s over the node's addresses); a node whose direct path failed
// is remembered (reachability.ts) and dialed through the relay until a background probe finds the
// direct path again. Through the relay the TLS session is the same end-to-end one, carried over two
// spliced legs. On the cloud the relay is in-process: its waiting legs are taken directly.
// `local` targets are plain TCP to 127.0.0.1. Idle keep-alive streams are pooled by the proxy.
// How one connection is made: tunnel-connect.ts (direct), relay-dial.ts (the relay leg).
import { sleep } from "../../runtime/abort.ts";
import { describeError } from "../../runtime/errors.ts";
import type { CatalogNode, Dialer, DialTarget, Duplex } from "../contracts.ts";
import { abortError, codedError } from "../proxy/dial-errors.ts";
import { connectDuplex } from "../proxy/socket-listen-connect.ts";
import type { NodeTls } from "./node-tls.ts";
import type { Preamble } from "./preamble.ts";
import { Reachability } from "./reachability.ts";
import { dialViaRelay } from "./relay-dial.ts";
import { LEG_WAIT_MS, type RelayHub } from "./relay-hub.ts";
import type { RelayAddress } from "./relay-offers.ts";
import type { RevocationCheck } from "./revocation.ts";
import { ClientTlsPhase, connectTlsOver } from "./tls-stream.ts";
import { dialTls, withDeadline } from "./tunnel-connect.ts";

export interface TunnelDialerOptions {
  /** This node. */
  node: string;
  credentials: () => NodeTls | undefined;
  /** The catalog entry of a node (addresses, tunnel port). */
  lookup: (node: string) => CatalogNode | undefined;
  /** Where the relay listens (the cloud node's tunnel address); undefined: no relay. */
  relay: () => RelayAddress | undefined;
  /** On the cloud: the relay runs in this process. */
  localRelay?: RelayHub;
  /** Budget for the direct path over all addresses. Default 1000 ms. */
  directTimeoutMs?: number;
  /**
   * How long a dial waits for a node whose host refuses the tunnel connection (its agent
   * restarting) before trying the relay. Default 3000 ms; 0: not at all.
   */
  restartGraceMs?: number;
  /** Budget for a relayed dial. Default 5000 ms. */
  relayTimeoutMs?: number;
  reachability?: Reachability;
  /** Never try the direct path: always the relay (diagnosis, benchmarks: --mesh-relay-only). */
  relayOnly?: boolean;
  /** Revoked certificates (from the catalog): a target presenting one is refused. */
  revoked?: RevocationCheck;
  onEvent?: (event: string, fields: Record<string, unknown>) => void;
}

/** See TunnelDialerOptions.restartGraceMs. */
const DEFAULT_RESTART_GRACE_MS = 3000;
const RESTART_RETRY_FIRST_MS = 100;
const RESTART_RETRY_MAX_MS = 800;
const NEVER = new AbortController().signal;

export class TunnelDialer implements Dialer {
  readonly paths: Reachability;
  readonly stats = { direct: 0, relayed: 0, failed: 0, probes: 0, restartWaits: 0 };
  private readonly directMs: number;
  private readonly relayMs: number;
  private readonly restartGraceMs: number;
  private readonly revoked: RevocationCheck = (fingerprint) => this.options.revoked?.(fingerprint) ?? false;

  constructor(private readonly options: TunnelDialerOptions) {
    this.paths = options.reachability ?? new Reachability();
    this.directMs = options.directTimeoutMs ?? 1000;
    this.relayMs = options.relayTimeoutMs ?? 5000;
    this.restartGraceMs = options.restartGraceMs ?? DEFAULT_RESTART_GRACE_MS;
  }

  /** Estimated cost of reaching a node in ms (TLS handshake time, EWMA); undefined before any dial. */
  distance(node: string): number | undefined {
    return this.paths.distance(node);
  }

  async dial(target: DialTarget, signal?: AbortSignal): Promise<Duplex> {
    if (target.kind === "local") return connectDuplex("127.0.0.1", target.port, signal ? { signal } : {});
    const { node, credentials } = this.resolve(target.node);
    const preamble: Preamble = {
      kind: "stream",
      service: target.service,
      forwarded: target.forwarded === true,
    };
    const plan = this.options.relayOnly ? { direct: false, probe: false } : this.paths.plan(node.name);
    if (plan.probe) void this.probe(node, credentials);
    /** Why the direct path failed; undefined when it was not tried (or worked). */
    let directFailure: string | undefined;
    if (plan.direct) {
      try {
        const duplex = await this.directWithinRestart(node, credentials, preamble, signal);
        this.stats.direct++;
        return duplex as Duplex;
      } catch (error) {
        if (signal?.aborted) throw error;
        directFailure = describeError(error);
        this.paths.directFailed(node.name);
        this.options.onEvent?.("direct path failed; using the relay", {
          node: node.name,
          error: directFailure,
        });
      }
    }
    try {
      const duplex = await this.relayed(node, credentials, preamble, signal);
      this.stats.relayed++;
      return duplex as Duplex;
    } catch (error) {
      this.stats.failed++;
      if (signal?.aborted || directFailure === undefined) throw error;
      throw codedError(
        `cannot reach node ${node.name}: direct: ${directFailure}; relay: ${describeError(error)}`,
        (error as { code?: string }).code ?? "EHOSTUNREACH",
      );
    }
  }

  /**
   * The direct path, tried again for a moment while the node's host refuses the connection (its
   * agent is restarting: an upgrade or a crash takes 1-2 s, and its workers keep running). A
   * refused connection carried no byte of the stream, so any request may wait for it. Only for a
   * node this dialer has reached directly before (an address that refuses from the start is a
   * path that does not work: straight to the relay); a node that does not answer at all (down,
   * partitioned) is not waited for here.
   */
  private async directWithinRestart(
    node: CatalogNode,
    credentials: NodeTls,
    preamble: Preamble,
    signal?: AbortSignal,
  ): Promise<Duplex | null> {
    const known = this.paths.preferredAddress(node.name) !== undefined;
    const deadline = performance.now() + (known ? this.restartGraceMs : 0);
    for (let wait = RESTART_RETRY_FIRST_MS; ; wait = Math.min(wait * 2, RESTART_RETRY_MAX_MS)) {
      try {
        return await this.direct(node, credentials, preamble, signal);
      } catch (error) {
        const refused = (error as { code?: string }).code === "ECONNREFUSED";
        if (signal?.aborted || !refused || performance.now() + wait > deadline) throw error;
        this.stats.restartWaits++;
        await sleep(wait, signal ?? NEVER);
      }
    }
  }

  /**
   * The bytes of an artifact from a node's cache, straight to it (never through the relay: a peer
   * worth asking is one on this node's network), within the direct budget. The stream starts with
   * the node's answer line (artifact-answer.ts). A failed direct path is remembered like a dial's.
   */
  async openArtifact(nodeName: string, sha256: string, from: number, signal?: AbortSignal): Promise<Duplex> {
    const { node, credentials } = this.resolve(nodeName);
    try {
      const duplex = await this.direct(node, credentials, { kind: "artifact", sha256, from }, signal);
      if (!duplex) throw codedError(`node ${nodeName}: no stream`, "ECONNRESET");
      return duplex;
    } catch (error) {
      if (!signal?.aborted) this.paths.directFailed(node.name);
      throw error;
    }
  }

  /** A tunnel ping straight to the node (no relay): its TLS handshake time in ms. */
  async ping(nodeName: string, signal?: AbortSignal): Promise<number> {
    const { node, credentials } = this.resolve(nodeName);
    const started = performance.now();
    await this.direct(node, credentials, { kind: "ping" }, signal);
    return performance.now() - started;
  }

  private resolve(name: string): { node: CatalogNode; credentials: NodeTls } {
    const credentials = this.options.credentials();
    if (!credentials) throw codedError("this node has no mesh certificate yet", "ENOCERT");
    const node = this.options.lookup(name);
    if (!node) throw codedError(`node ${name} is not in the catalog`, "ENOTFOUND");
    return { node, credentials };
  }

  private async probe(node: CatalogNode, credentials: NodeTls): Promise<void> {
    this.stats.probes++;
    try {
      await this.direct(node, credentials, { kind: "ping" });
      this.options.onEvent?.("direct path works again", { node: node.name });
    } catch {
      this.paths.directFailed(node.name);
    }
  }

  /** Tries the node's addresses in turn (the one that worked last first) within the direct budget. */
  private async direct(
    node: CatalogNode,
    credentials: NodeTls,
    preamble: Preamble,
    signal?: AbortSignal,
  ): Promise<Duplex | null> {
    const preferred = this.paths.preferredAddress(node.name);
    const addresses = [...new Set([...(preferred ? [preferred] : []), ...node.addresses])];
    if (addresses.length === 0) throw codedError(`node ${node.name} has no address`, "EHOSTUNREACH");
    const deadline = performance.now() + this.directMs;
    let lastError: Error = codedError(`node ${node.name}: no address answered`, "ETIMEDOUT");
    for (const address of addresses) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      const started = performance.now();
      try {
        const duplex = await dialTls(
          address,
          node.tunnelPort,
          credentials,
          node.name,
          preamble,
          left,
          signal,
          this.revoked,
        );
        this.paths.directOk(node.name, address, performance.now() - started);
        return duplex;
      } catch (error) {
        if (signal?.aborted) throw error;
        lastError = error as Error;
      }
    }
    throw lastError;
  }

  private async relayed(
    node: CatalogNode,
    credentials: NodeTls,
    preamble: Preamble,
    signal?: AbortSignal,
  ): Promise<Duplex> {
    const started = performance.now();
    const where = `node ${node.name} via the relay`;
    let duplex: Duplex | null;
    const local = this.options.localRelay;
    if (local) {
      const leg = await local.whenLeg(node.name, LEG_WAIT_MS, signal);
      if (!leg && signal?.aborted) throw abortError(signal);
      if (!leg) throw codedError(`node ${node.name} has no connection to the relay`, "EHOSTUNREACH");
      const phase = new ClientTlsPhase(node.name, preamble, where, this.revoked);
      connectTlsOver(leg, credentials, phase);
      duplex = await withDeadline(phase, this.relayMs, signal);
    } else {
      const relay = this.options.relay();
      if (!relay)
        throw codedError(`node ${node.name} is not reachable directly and no relay is known`, "EHOSTUNREACH");
      duplex = await dialViaRelay(
        relay,
        this.options.node,
        credentials,
        node.name,
        preamble,
        this.relayMs,
        signal,
        this.revoked,
      );
    }
    this.paths.relayOk(node.name, performance.now() - started);
    if (!duplex) throw codedError(`${where}: no stream`, "ECONNRESET");
    return duplex;
  }
}
