// The relay, run by the cloud node on its tunnel port (tunnel-server.ts hands it every connection
// that starts with "LEVEE-RELAY/"). Edges keep a few authenticated "offer" legs open to it; a node
// that cannot reach edge B directly opens an authenticated "dial" leg asking for B; the relay takes
// one of B's waiting legs, tells B "go", and splices the two legs byte for byte. What flows through
// is the end-to-end mutual TLS session between the two nodes: the relay never holds a key that
// could read it, and it splices only legs whose node proved its identity (relay-protocol.ts).
// The cloud's own dialer takes legs in-process (takeLeg) instead of dialing itself.

import { Splice } from "../proxy/splice.ts";
import { LineReader, readLines } from "./line-reader.ts";
import type { NodeTls } from "./node-tls.ts";
import {
  answerLine,
  challengeLine,
  GO_LINE,
  newNonce,
  RELAY_LINE_MAX_BYTES,
  RELAY_MAGIC,
  verifyRequestLine,
} from "./relay-protocol.ts";
import { dropSocket, IGNORE, type Phase, type PhasedSocket, startStream } from "./socket-phases.ts";
import { HEADER_TIMEOUT_MS } from "./tls-stream.ts";

export interface RelayHubOptions {
  /** This (the relay's) node name: signatures are bound to it. */
  name: string;
  /** Only the CA is used: the relay terminates no TLS. */
  credentials: () => NodeTls | undefined;
  /**
   * Whether a verified node (its name and certificate fingerprint) may use the relay, e.g. it is
   * still a node of the cluster and its certificate is not revoked; default: any.
   */
  authorize?: (node: string, fingerprint: string) => boolean;
  /** Waiting legs kept per node; a newer offer beyond this closes the oldest. Default 8. */
  maxLegsPerNode?: number;
  onEvent?: (event: string, fields: Record<string, unknown>) => void;
  now?: () => number;
}

export interface RelayStats {
  offers: number;
  relayed: number;
  refused: number;
  /** Streams being spliced right now. */
  active: number;
  /** Dials that found no waiting leg and waited for one; of them, those that waited in vain. */
  waits: number;
  waitTimeouts: number;
}

/** TCP keepalive on relay legs: finds dead legs and keeps NAT mappings of idle ones alive. */
export const LEG_KEEPALIVE_MS = 15_000;
/** How long a dial waits for the target to offer a leg when it has none waiting. */
export const LEG_WAIT_MS = 3_000;

export class RelayHub {
  private readonly waiting = new Map<string, PhasedSocket[]>();
  /**
   * Dials waiting for a leg of a node (a burst used up its idle legs; it offers new ones at once):
   * the next leg it offers goes to the oldest of them.
   */
  private readonly hungry = new Map<string, ((leg: PhasedSocket | undefined) => void)[]>();
  readonly stats: RelayStats = { offers: 0, relayed: 0, refused: 0, active: 0, waits: 0, waitTimeouts: 0 };
  private closed = false;

  constructor(private readonly options: RelayHubOptions) {}

  /** A connection whose first bytes (`first`) start a relay handshake. */
  accept(socket: PhasedSocket, first: Uint8Array): void {
    if (this.closed) return void socket.terminate();
    const phase = new HandshakePhase(this, socket);
    socket.data = phase;
    phase.data(socket, Buffer.from(first));
  }

  /** How many legs of `node` wait. */
  legs(node: string): number {
    return this.waiting.get(node)?.length ?? 0;
  }

  /** Takes a waiting leg of `node` (the newest, most likely alive) and tells it "go"; undefined when none. */
  takeLeg(node: string): PhasedSocket | undefined {
    const legs = this.waiting.get(node);
    while (legs && legs.length > 0) {
      const leg = legs.pop() as PhasedSocket;
      if (legs.length === 0) this.waiting.delete(node);
      if (sendGo(leg)) return leg;
    }
    return undefined;
  }

  /**
   * A leg of `node`, now or as soon as it offers one (within timeoutMs); undefined when none came
   * or `signal` aborted the wait (the dial was given up: no leg is spent on it).
   */
  whenLeg(node: string, timeoutMs: number, signal?: AbortSignal): Promise<PhasedSocket | undefined> {
    if (signal?.aborted) return Promise.resolve(undefined);
    const leg = this.takeLeg(node);
    if (leg || this.closed) return Promise.resolve(leg);
    this.stats.waits++;
    return new Promise((resolve) => {
      const queue = this.hungry.get(node) ?? [];
      this.hungry.set(node, queue);
      const giveUp = (timedOut: boolean) => {
        const at = queue.indexOf(waiter);
        if (at >= 0) queue.splice(at, 1);
        if (queue.length === 0 && this.hungry.get(node) === queue) this.hungry.delete(node);
        if (timedOut) this.stats.waitTimeouts++;
        signal?.removeEventListener("abort", onAbort);
        resolve(undefined);
      };
      const onAbort = () => {
        clearTimeout(timer);
        giveUp(false);
      };
      const waiter = (got: PhasedSocket | undefined) => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        resolve(got);
      };
      const timer = setTimeout(() => giveUp(true), timeoutMs);
      signal?.addEventListener("abort", onAbort, { once: true });
      queue.push(waiter);
    });
  }

  close(): void {
    this.closed = true;
    for (const queue of this.hungry.values()) for (const waiter of queue) waiter(undefined);
    this.hungry.clear();
    for (const legs of this.waiting.values()) for (const leg of legs) leg.terminate();
    this.waiting.clear();
  }

  // --- used by the phases ---

  get name(): string {
    return this.options.name;
  }

  caPem(): string | undefined {
    return this.options.credentials()?.ca;
  }

  authorized(node: string, fingerprint: string): boolean {
    return this.options.authorize?.(node, fingerprint) ?? true;
  }

  now(): number {
    return this.options.now?.() ?? Date.now();
  }

  event(event: string, fields: Record<string, unknown>): void {
    if (event.startsWith("refused")) this.stats.refused++;
    this.options.onEvent?.(event, fields);
  }

  register(node: string, leg: PhasedSocket): void {
    const queue = this.hungry.get(node);
    if (queue && queue.length > 0) {
      const waiter = queue.shift() as (leg: PhasedSocket | undefined) => void;
      if (queue.length === 0) this.hungry.delete(node);
      this.stats.offers++;
      waiter(sendGo(leg) ? leg : undefined);
      return;
    }
    const legs = this.waiting.get(node) ?? [];
    this.waiting.set(node, legs);
    legs.push(leg);
    this.stats.offers++;
    const max = this.options.maxLegsPerNode ?? 8;
    while (legs.length > max) (legs.shift() as PhasedSocket).terminate();
    leg.data = new WaitingPhase(this, node);
  }

  unregister(node: string, leg: PhasedSocket): void {
    const legs = this.waiting.get(node);
    if (!legs) return;
    const at = legs.indexOf(leg);
    if (at >= 0) legs.splice(at, 1);
    if (legs.length === 0) this.waiting.delete(node);
  }

  connect(from: string, target: string, socket: PhasedSocket, rest: Uint8Array): void {
    const waiting = new DialWaitPhase(rest);
    socket.data = waiting;
    void this.whenLeg(target, LEG_WAIT_MS, waiting.gone.signal).then((leg) =>
      this.splice(from, target, socket, waiting, leg),
    );
  }

  private splice(
    from: string,
    target: string,
    socket: PhasedSocket,
    waiting: DialWaitPhase,
    leg: PhasedSocket | undefined,
  ): void {
    if (waiting.gone.signal.aborted) {
      if (leg) leg.terminate(); // (a leg that was already told "go")
      return;
    }
    const rest = waiting.rest;
    if (!leg) {
      this.event("refused: no route", { node: from, target });
      socket.data = IGNORE;
      socket.write(answerLine({ ok: false, reason: `node ${target} has no connection to the relay` }));
      socket.end();
      return;
    }
    const toTarget = startStream(leg, new Uint8Array(0));
    const fromDialer = startStream(socket, rest);
    fromDialer.write(Buffer.from(answerLine({ ok: true })));
    this.stats.relayed++;
    this.stats.active++;
    this.event("relayed", { node: from, target });
    new Splice(fromDialer, ({ error }) => {
      this.stats.active--;
      if (error) this.event("relayed stream broke", { node: from, target, error: error.message });
    }).attach(toTarget);
  }
}

/** Tells a waiting leg "go" (from here on it carries a stream); false, the leg closed, when it could not. */
function sendGo(leg: PhasedSocket): boolean {
  leg.data = IGNORE;
  if (leg.write(GO_LINE) === GO_LINE.length) return true;
  leg.terminate();
  return false;
}

/** Hello → challenge → offer/dial line → verdict. */
class HandshakePhase implements Phase {
  private readonly reader = new LineReader(RELAY_LINE_MAX_BYTES);
  private challenge: { nonce: string; relay: string } | undefined;
  private readonly timer: ReturnType<typeof setTimeout>;
  private readonly remote: string;

  constructor(
    private readonly hub: RelayHub,
    private readonly socket: PhasedSocket,
  ) {
    this.remote = socket.remoteAddress ?? "";
    this.timer = setTimeout(() => this.refuse("no relay handshake in time"), HEADER_TIMEOUT_MS);
  }

  data(socket: PhasedSocket, chunk: Buffer): void {
    readLines(
      this.reader,
      chunk,
      (line, rest) => {
        this.line(line, rest);
        return socket.data === this;
      },
      () => this.refuse("relay header line too long"),
    );
  }

  end(): void {
    this.refuse("closed during the relay handshake");
  }

  close(): void {
    clearTimeout(this.timer);
  }

  private line(line: string, rest: Uint8Array): void {
    if (!this.challenge) {
      if (line !== RELAY_MAGIC) {
        this.refuse(`not a relay hello (${JSON.stringify(line.slice(0, 40))})`);
        return;
      }
      this.challenge = { nonce: newNonce(), relay: this.hub.name };
      this.socket.write(challengeLine(this.challenge.nonce, this.challenge.relay));
      return;
    }
    const ca = this.hub.caPem();
    if (!ca) {
      this.refuse("the relay has no CA yet", true);
      return;
    }
    const verified = verifyRequestLine(line, this.challenge, ca, this.hub.now());
    if (!verified.ok) {
      this.refuse(verified.reason, true);
      return;
    }
    const { request } = verified;
    if (!this.hub.authorized(request.node, verified.fingerprint)) {
      this.refuse(`node ${request.node} is not authorized (deleted, or its certificate revoked)`, true);
      return;
    }
    clearTimeout(this.timer);
    if (request.verb === "offer") {
      if (rest.byteLength > 0) {
        this.refuse("data after an offer");
        return;
      }
      this.socket.setKeepAlive(true, LEG_KEEPALIVE_MS);
      // "ok" first: register() may hand the leg to a waiting dial at once and write "go" on it.
      this.socket.write(answerLine({ ok: true }));
      this.hub.register(request.node, this.socket);
      return;
    }
    this.hub.connect(request.node, request.target, this.socket, rest);
  }

  private refuse(reason: string, answer = false): void {
    clearTimeout(this.timer);
    this.hub.event("refused", { remote: this.remote, reason });
    this.socket.data = IGNORE;
    if (answer) {
      this.socket.write(answerLine({ ok: false, reason }));
      this.socket.end();
    } else {
      this.socket.terminate();
    }
  }
}

/** What a waiting dial may send before its "ok" (a TLS ClientHello is well under it). */
const DIAL_EARLY_BYTES_MAX = 16 * 1024;

/**
 * A dial waiting for a leg of its target: bytes it sends meanwhile (a ClientHello sent early) are
 * kept, up to DIAL_EARLY_BYTES_MAX; if it closes, the wait is given up.
 */
class DialWaitPhase implements Phase {
  readonly gone = new AbortController();
  constructor(public rest: Uint8Array) {}
  data(socket: PhasedSocket, chunk: Buffer): void {
    this.rest = this.rest.byteLength === 0 ? chunk : Buffer.concat([this.rest, chunk]);
    if (this.rest.byteLength > DIAL_EARLY_BYTES_MAX) {
      this.gone.abort();
      dropSocket(socket);
    }
  }
  end(socket: PhasedSocket): void {
    this.gone.abort();
    socket.data = IGNORE;
    socket.end();
  }
  close(): void {
    this.gone.abort();
  }
}

/** An offered leg waiting for "go": it must stay silent; its close removes it. */
class WaitingPhase implements Phase {
  constructor(
    private readonly hub: RelayHub,
    private readonly node: string,
  ) {}
  data(socket: PhasedSocket): void {
    this.hub.unregister(this.node, socket);
    dropSocket(socket);
  }
  end(socket: PhasedSocket): void {
    this.hub.unregister(this.node, socket);
    socket.data = IGNORE;
    socket.end();
  }
  close(socket: PhasedSocket): void {
    this.hub.unregister(this.node, socket);
  }
}
