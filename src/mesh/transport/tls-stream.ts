// The two ends of one tunnel stream, whatever carries it (a direct TCP connection or two relay legs
// spliced together): mutual TLS with node certificates, then the preamble line, then the stream.
//
// Accepting side (TLS server): the handshake must verify the client's certificate against the CA;
// the peer's node name is read from that certificate; then the preamble names the service, and the
// stream goes to onStream. Dialing side (TLS client): the server's certificate must name the target
// node (the TLS stack checks the name too); then the preamble is sent and the stream is returned.
import { describeError } from "../../runtime/errors.ts";
import { codedError } from "../proxy/dial-errors.ts";
import { SocketDuplex } from "../proxy/socket-duplex.ts";
import { formatAnswer } from "./artifact-answer.ts";
import { LineReader } from "./line-reader.ts";
import { clientTlsOptions, type NodeTls, serverTlsOptions, verifiedPeer } from "./node-tls.ts";
import { formatPreamble, PREAMBLE_MAX_BYTES, type Preamble, parsePreamble } from "./preamble.ts";
import { NOTHING_REVOKED, type RevocationCheck } from "./revocation.ts";
import {
  dropSocket,
  IGNORE,
  type Phase,
  type PhasedSocket,
  startStream,
  upgradeTls,
} from "./socket-phases.ts";

/** A stream another node opened to this one. */
export interface InboundStream {
  service: string;
  /** A fallback sent it: serve it here or refuse it, never forward it again. */
  forwarded: boolean;
  /** The peer's node name, from its verified certificate. */
  peer: string;
  /** That certificate's fingerprint (revocation.ts). */
  fingerprint: string;
  duplex: SocketDuplex;
  /** How it arrived: straight from the peer, or spliced by the relay. */
  via: "direct" | "relay";
}

/** Another node asking for the bytes of an artifact of this node's cache (preamble.ts). */
export interface ArtifactRequest {
  sha256: string;
  /** The first byte wanted. */
  from: number;
  peer: string;
  fingerprint: string;
  /** The answer (artifact-answer.ts) and the bytes go here; nothing more is read from it. */
  duplex: SocketDuplex;
  via: "direct" | "relay";
}

export interface AcceptContext {
  credentials: () => NodeTls | undefined;
  /**
   * Whether a verified peer (its node name and certificate fingerprint) may open streams, e.g. it is
   * a node the cloud knows and its certificate is not revoked; default: any.
   */
  authorize?: (peer: string, fingerprint: string) => boolean;
  onStream: (stream: InboundStream) => void;
  /** Artifact requests; absent: each is answered not-found (this node serves none). */
  onArtifact?: ((request: ArtifactRequest) => void) | undefined;
  /** A refused or broken connection, for the log (no secrets in it). */
  onRefused: (reason: string, fields: Record<string, unknown>) => void;
}

/** How long a connection may take from its first byte to a complete preamble. */
export const HEADER_TIMEOUT_MS = 10_000;

class ServerTlsPhase implements Phase {
  private peer: string | undefined;
  private fingerprint = "";
  private readonly reader = new LineReader(PREAMBLE_MAX_BYTES);
  private readonly timer: ReturnType<typeof setTimeout>;

  constructor(
    private readonly ctx: AcceptContext,
    private readonly via: "direct" | "relay",
    private readonly remote: string,
    private socket: PhasedSocket | undefined = undefined,
  ) {
    this.timer = setTimeout(() => this.refuse("no tunnel preamble in time"), HEADER_TIMEOUT_MS);
  }

  bind(socket: PhasedSocket): void {
    this.socket = socket;
  }

  handshake(socket: PhasedSocket, success: boolean, error: Error | null): void {
    this.socket = socket;
    const verified = success ? verifiedPeer(socket) : undefined;
    if (verified === undefined) {
      this.refuse(`client certificate refused: ${error?.message ?? "it names no node"}`);
      return;
    }
    const { node, fingerprint } = verified;
    if (this.ctx.authorize && !this.ctx.authorize(node, fingerprint)) {
      this.refuse(`node ${node} is not authorized (deleted, or its certificate revoked)`, node);
      return;
    }
    this.peer = node;
    this.fingerprint = fingerprint;
  }

  data(socket: PhasedSocket, chunk: Buffer): void {
    if (this.peer === undefined) {
      this.refuse("data before a verified handshake");
      return;
    }
    const read = this.reader.push(chunk);
    if (read.kind === "more") return;
    if (read.kind === "too-long") {
      this.refuse("tunnel preamble too long", this.peer);
      return;
    }
    const parsed = parsePreamble(read.line);
    if (!parsed.ok) {
      this.refuse(parsed.reason, this.peer);
      return;
    }
    clearTimeout(this.timer);
    if (parsed.preamble.kind === "ping") {
      socket.data = IGNORE;
      socket.write("pong\n");
      socket.end();
      return;
    }
    const duplex = startStream(socket, read.rest);
    if (parsed.preamble.kind === "artifact") {
      const { sha256, from } = parsed.preamble;
      const request = { sha256, from, peer: this.peer, fingerprint: this.fingerprint, duplex, via: this.via };
      if (this.ctx.onArtifact) this.ctx.onArtifact(request);
      else {
        duplex.write(Buffer.from(formatAnswer({ kind: "not-found" })));
        duplex.end();
      }
      return;
    }
    const { service, forwarded = false } = parsed.preamble;
    this.ctx.onStream({
      service,
      forwarded,
      peer: this.peer,
      fingerprint: this.fingerprint,
      duplex,
      via: this.via,
    });
  }

  end(): void {
    this.refuse("closed before the tunnel preamble", this.peer);
  }

  close(): void {
    clearTimeout(this.timer);
  }

  failed(error: Error): void {
    clearTimeout(this.timer);
    this.ctx.onRefused(`tunnel connection failed: ${error.message}`, { remote: this.remote });
  }

  private refuse(reason: string, peer?: string): void {
    clearTimeout(this.timer);
    this.ctx.onRefused(reason, { remote: this.remote, via: this.via, ...(peer ? { peer } : {}) });
    if (this.socket) dropSocket(this.socket);
  }
}

/** Runs the TLS server side on an open raw socket; `initialData` are the bytes already read from it. */
export function acceptTls(
  raw: PhasedSocket,
  initialData: Uint8Array,
  ctx: AcceptContext,
  via: "direct" | "relay",
): void {
  const credentials = ctx.credentials();
  const remote = raw.remoteAddress ?? "";
  if (!credentials) {
    ctx.onRefused("this node has no mesh certificate yet", { remote });
    dropSocket(raw);
    return;
  }
  const phase = new ServerTlsPhase(ctx, via, remote);
  try {
    phase.bind(upgradeTls(raw, { isServer: true, tls: serverTlsOptions(credentials), phase, initialData }));
  } catch (error) {
    phase.close();
    ctx.onRefused(`TLS upgrade failed: ${describeError(error)}`, { remote });
    raw.terminate();
  }
}

/**
 * The dialing side's phase: verify the server is `target`, send the preamble, hand over the stream.
 * Whoever opens the socket binds it, so that a timeout or an abort can close it.
 */
export class ClientTlsPhase implements Phase {
  /** The stream; null for a ping (answered). */
  readonly done: Promise<SocketDuplex | null>;
  private resolve!: (duplex: SocketDuplex | null) => void;
  private reject!: (error: Error) => void;
  private settled = false;
  private socket: PhasedSocket | undefined;

  constructor(
    readonly target: string,
    readonly preamble: Preamble,
    readonly where: string,
    /** Revoked certificates: a target presenting one is refused like a wrong one. */
    private readonly revoked: RevocationCheck = NOTHING_REVOKED,
  ) {
    this.done = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.done.catch(() => {});
  }

  /** The socket to close when giving up (the raw one first, then the TLS one). */
  bind(socket: PhasedSocket): void {
    this.socket = socket;
    // Given up before the socket opened: close it now (a stream in use is never closed here).
    if (this.settled && !(socket.data instanceof SocketDuplex)) dropSocket(socket);
  }

  handshake(socket: PhasedSocket, success: boolean, error: Error | null): void {
    this.socket = socket;
    if (!success) {
      this.fail(`TLS handshake with ${this.where} failed: ${error?.message ?? "refused"}`);
      return;
    }
    const peer = verifiedPeer(socket);
    if (peer?.node !== this.target) {
      this.fail(
        `${this.where} is not node ${this.target} (its certificate names ${peer?.node ?? "no node"})`,
      );
      return;
    }
    if (this.revoked(peer.fingerprint)) {
      this.fail(`${this.where} presented a revoked certificate`);
      return;
    }
    if (this.settled) {
      dropSocket(socket);
      return;
    }
    this.settled = true;
    if (this.preamble.kind === "ping") {
      socket.data = new PongPhase(
        () => this.resolve(null),
        (message) => this.reject(codedError(`${this.where}: ${message}`, "ECONNRESET")),
      );
      socket.write(formatPreamble(this.preamble));
      return;
    }
    const duplex = startStream(socket, new Uint8Array(0));
    duplex.write(Buffer.from(formatPreamble(this.preamble)));
    this.resolve(duplex);
  }

  data(): void {
    this.fail(`${this.where} sent data before the TLS handshake finished`);
  }

  close(_socket: PhasedSocket, error?: Error): void {
    this.settle(
      codedError(
        `connection to ${this.where} closed during the TLS handshake${error ? `: ${error.message}` : ""}`,
        "ECONNRESET",
      ),
    );
  }

  failed(error: Error): void {
    this.settle(error);
  }

  /** Gives up (timeout, abort, connect error): the socket is closed and the dial fails with `error`. */
  abandon(error: Error): void {
    if (this.socket) dropSocket(this.socket);
    this.settle(error);
  }

  private settle(error: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.reject(error);
  }

  private fail(message: string): void {
    this.abandon(codedError(message, "ETLS"));
  }
}

/** Waits for the "pong" line of a ping, then closes. */
class PongPhase implements Phase {
  private readonly reader = new LineReader(16);
  constructor(
    private readonly ok: () => void,
    private readonly bad: (message: string) => void,
  ) {}
  data(socket: PhasedSocket, chunk: Buffer): void {
    const read = this.reader.push(chunk);
    if (read.kind === "more") return;
    socket.data = IGNORE;
    socket.end();
    if (read.kind === "line" && read.line === "pong") this.ok();
    else this.bad("unexpected answer to a tunnel ping");
  }
  close(): void {
    this.bad("closed before answering the ping");
  }
}

/** Runs the TLS client side of `phase` on an open raw socket (a relay leg). */
export function connectTlsOver(raw: PhasedSocket, credentials: NodeTls, phase: ClientTlsPhase): void {
  phase.bind(raw);
  phase.bind(upgradeTls(raw, { isServer: false, tls: clientTlsOptions(credentials, phase.target), phase }));
}
