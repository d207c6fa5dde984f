// The edge's side of the relay: it keeps a few idle, authenticated legs open to the relay (outbound
// connections, so they work from behind NAT), each saying "streams to me may come this way". When
// the relay says "go" on one, the leg becomes an incoming tunnel stream (this node is the TLS server
// of the end-to-end session, exactly as on its tunnel port) and a new leg replaces it at once.
// Failed connections are retried with backoff, so an absent cloud costs nothing but a timer; the
// backoff never holds up replacing used legs (a leg that was used proves the relay works), and a
// leg that dies after waiting a while at a working relay is replaced after the first, short delay.
import type { Socket } from "bun";
import { Backoff, type BackoffOptions } from "../../runtime/backoff.ts";
import { describeError } from "../../runtime/errors.ts";
import { LineReader, readLines } from "./line-reader.ts";
import type { NodeTls } from "./node-tls.ts";
import { LEG_KEEPALIVE_MS } from "./relay-hub.ts";
import {
  helloLine,
  parseAnswer,
  parseChallenge,
  RELAY_LINE_MAX_BYTES,
  requestLine,
} from "./relay-protocol.ts";
import { dropSocket, type Phase, type PhasedSocket, phasedHandlers } from "./socket-phases.ts";
import { type AcceptContext, acceptTls } from "./tls-stream.ts";

export interface RelayAddress {
  host: string;
  port: number;
}

export interface RelayOffersOptions {
  /** This node. */
  node: string;
  credentials: () => NodeTls | undefined;
  /** Where the relay listens (the cloud node's tunnel port); undefined while unknown. */
  relay: () => RelayAddress | undefined;
  /** Streams that arrive through a leg go where the tunnel server's go. */
  accept: AcceptContext;
  /**
   * Idle legs to keep. Default 4 (a burst beyond them waits for the next offer at the relay); at most
   * the relay's maxLegsPerNode.
   */
  idle?: number;
  /** Retry delays after failed legs. Default: base 250 ms, cap 30 s. */
  backoff?: BackoffOptions;
  onEvent?: (event: string, fields: Record<string, unknown>) => void;
}

export interface RelayOffers {
  /** Legs registered at the relay and waiting. */
  waiting(): number;
  close(): void;
}

const CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_LEG_BACKOFF: BackoffOptions = { baseMs: 250, capMs: 30_000 };
/** A leg that waited this long at the relay before it failed was an isolated failure: the backoff restarts. */
const STABLE_LEG_MS = 5_000;

export function startRelayOffers(options: RelayOffersOptions): RelayOffers {
  const idle = options.idle ?? 4;
  const backoff = new Backoff(options.backoff ?? DEFAULT_LEG_BACKOFF);
  const legs = new Set<OfferPhase>();
  let retry: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  let failing = false;
  const event = (name: string, fields: Record<string, unknown>) => options.onEvent?.(name, fields);

  /** Opens legs up to `idle`. A pending retry does not hold it up: callers decide when to fill. */
  const fill = () => {
    if (closed) return;
    while (legs.size < idle) {
      const target = options.relay();
      const credentials = options.credentials();
      if (!target || !credentials)
        return later(!target ? "no relay address known yet" : "no mesh certificate yet");
      const leg = new OfferPhase(options.node, credentials, options.accept, {
        registered: () => {
          if (failing) event("relay legs registered again", { relay: `${target.host}:${target.port}` });
          failing = false;
        },
        used: () => {
          legs.delete(leg);
          // The relay spliced a stream: it works. Replace the leg now, whatever failed before.
          backoff.reset();
          fill();
        },
        failed: (reason, waitedMs) => {
          legs.delete(leg);
          if (waitedMs >= STABLE_LEG_MS) backoff.reset();
          later(reason, target);
        },
      });
      legs.add(leg);
      leg.connect(target);
    }
  };

  /** Fills again after the next backoff delay (one timer at a time). */
  const later = (reason: string, target?: RelayAddress) => {
    if (closed || retry !== undefined) return;
    const delay = backoff.next();
    if (!failing)
      event("relay leg failed; retrying", {
        reason,
        relay: target ? `${target.host}:${target.port}` : undefined,
        retryInMs: delay,
      });
    failing = true;
    retry = setTimeout(() => {
      retry = undefined;
      fill();
    }, delay);
  };

  fill();
  return {
    waiting: () => [...legs].filter((l) => l.isWaiting).length,
    close() {
      closed = true;
      if (retry !== undefined) clearTimeout(retry);
      for (const leg of legs) leg.shutdown();
      legs.clear();
    },
  };
}

interface LegEvents {
  registered(): void;
  used(): void;
  /** `waitedMs`: how long it had been registered at the relay (0: it never was). */
  failed(reason: string, waitedMs: number): void;
}

/** One leg: hello → challenge → signed offer → ok → (wait) → go → TLS server. */
class OfferPhase implements Phase {
  private readonly reader = new LineReader(RELAY_LINE_MAX_BYTES);
  private state: "connecting" | "challenge" | "answer" | "waiting" | "done" = "connecting";
  private socket: PhasedSocket | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private registeredAt = 0;

  constructor(
    private readonly node: string,
    private readonly credentials: NodeTls,
    private readonly accept: AcceptContext,
    private readonly events: LegEvents,
  ) {}

  get isWaiting(): boolean {
    return this.state === "waiting";
  }

  connect(target: RelayAddress): void {
    this.timer = setTimeout(() => this.fail("relay handshake timed out"), CONNECT_TIMEOUT_MS);
    Bun.connect<Phase>({
      hostname: target.host,
      port: target.port,
      // The leg will carry a stream: the dialer's end (FIN) must not close this side before it answered.
      allowHalfOpen: true,
      data: this,
      socket: {
        ...(phasedHandlers as object),
        open: (socket: Socket<Phase>) => this.open(socket as PhasedSocket),
        connectError: () => {},
      },
    }).catch((error: unknown) =>
      this.fail(`cannot connect to the relay at ${target.host}:${target.port}: ${describeError(error)}`),
    );
  }

  /** Stops this leg (agent shutdown). */
  shutdown(): void {
    this.state = "done";
    clearTimeout(this.timer);
    if (this.socket) dropSocket(this.socket);
  }

  private open(socket: PhasedSocket): void {
    if (this.state === "done") return void socket.terminate();
    this.socket = socket;
    this.state = "challenge";
    socket.setKeepAlive(true, LEG_KEEPALIVE_MS);
    socket.write(helloLine());
  }

  data(socket: PhasedSocket, chunk: Buffer): void {
    if (this.state === "done") return;
    readLines(
      this.reader,
      chunk,
      (line, rest) => this.line(socket, line, rest),
      () => this.fail("relay line too long"),
    );
  }

  /** One line from the relay; whether to read on. */
  private line(socket: PhasedSocket, line: string, rest: Uint8Array): boolean {
    if (this.state === "challenge") {
      const challenge = parseChallenge(line);
      if (!challenge) {
        this.fail("unexpected relay greeting");
        return false;
      }
      socket.write(requestLine({ verb: "offer", node: this.node }, this.credentials, challenge));
      this.state = "answer";
      return true;
    }
    if (this.state === "answer") {
      const answer = parseAnswer(line);
      if (!answer.ok) {
        this.fail(`the relay refused the offer: ${answer.reason}`);
        return false;
      }
      clearTimeout(this.timer);
      this.state = "waiting";
      this.registeredAt = performance.now();
      this.events.registered();
      return true;
    }
    if (this.state === "waiting") {
      if (line === "go") this.go(socket, rest);
      else this.fail("unexpected line from the relay");
    }
    return false;
  }

  /** "go": from here on the leg carries a relayed stream (its ClientHello may already follow). */
  private go(socket: PhasedSocket, rest: Uint8Array): void {
    this.state = "done";
    acceptTls(socket, rest, this.accept, "relay");
    this.events.used();
  }

  end(socket: PhasedSocket): void {
    socket.end();
  }

  /** The connection closed: before it was used, that is a failure. */
  close(): void {
    if (this.state === "done") return;
    this.fail("relay connection closed");
  }

  failed(error: Error): void {
    this.fail(error.message);
  }

  private fail(reason: string): void {
    if (this.state === "done") return;
    const waitedMs = this.state === "waiting" ? performance.now() - this.registeredAt : 0;
    this.state = "done";
    clearTimeout(this.timer);
    if (this.socket) dropSocket(this.socket);
    this.events.failed(reason, waitedMs);
  }
}
