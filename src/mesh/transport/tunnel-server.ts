// The tunnel listener every agent runs on --tunnel-port (bind address): other agents open mutual-TLS
// streams to it (tls-stream.ts: client certificate from the cluster CA required, peer name from the
// certificate, preamble naming the service), and the streams go to onStream, which the mesh wires
// to its proxy. On the cloud the same port also serves the relay (relay-hub.ts): a connection is
// told apart by its first byte, 0x16 for a TLS handshake record, "L" for "LEVEE-RELAY/1".
//
// The listener itself is plain TCP and each connection is upgraded to TLS (Bun's socket.upgradeTLS
// as TLS server), with the credentials current at that moment: a renewed certificate applies to
// the next connection without restarting anything.
import type { HostPort } from "../../runtime/host-port.ts";
import { listenError } from "../../runtime/serve.ts";
import type { NodeTls } from "./node-tls.ts";
import type { RelayHub } from "./relay-hub.ts";
import { dropSocket, type Phase, type PhasedSocket, phasedHandlers } from "./socket-phases.ts";
import { type AcceptContext, type ArtifactRequest, acceptTls, type InboundStream } from "./tls-stream.ts";

/** What the revocation recheck needs of an open stream (a service stream or an artifact transfer). */
type OpenStream = Pick<InboundStream, "peer" | "fingerprint" | "duplex" | "via">;

const TLS_HANDSHAKE_RECORD = 0x16;
/** TCP keep-alive on accepted connections (the relay sets its own on its legs). */
const SERVER_KEEPALIVE_MS = 5_000;
const RELAY_FIRST_BYTE = 0x4c; // "L"

export interface TunnelServerOptions {
  listen: HostPort;
  credentials: () => NodeTls | undefined;
  onStream: (stream: InboundStream) => void;
  /** Other nodes asking for artifacts of this node's cache; absent: answered not-found. */
  onArtifact?: ((request: ArtifactRequest) => void) | undefined;
  /** Whether a verified peer (name, certificate fingerprint) may open streams; default: any. */
  authorize?: (peer: string, fingerprint: string) => boolean;
  /** The cloud: serve the relay on this port too. */
  relay?: RelayHub;
  /** A refused connection (for the log: no secrets). */
  onRefused?: (reason: string, fields: Record<string, unknown>) => void;
}

export interface TunnelServer {
  hostname: string;
  port: number;
  /** What relayed streams (relay-offers.ts) need to be accepted exactly like direct ones. */
  accept: AcceptContext;
  readonly stats: { accepted: number; refused: number };
  /**
   * Asks authorize again for every stream still open (direct or relayed) and closes those of peers
   * no longer authorized: a revoked certificate cuts what its node has open, not only what it opens.
   */
  recheck(): number;
  stop(): void;
}

/** The first bytes of a connection decide what it is. */
class SniffPhase implements Phase {
  constructor(
    private readonly accept: AcceptContext,
    private readonly relay: RelayHub | undefined,
  ) {}
  data(socket: PhasedSocket, chunk: Buffer): void {
    const first = chunk[0];
    if (first === TLS_HANDSHAKE_RECORD) {
      acceptTls(socket, chunk, this.accept, "direct");
      return;
    }
    if (first === RELAY_FIRST_BYTE && this.relay) {
      this.relay.accept(socket, chunk);
      return;
    }
    this.accept.onRefused(this.relay ? "neither TLS nor a relay handshake" : "not a TLS connection", {
      remote: socket.remoteAddress,
    });
    dropSocket(socket);
  }
  end(socket: PhasedSocket): void {
    dropSocket(socket);
  }
}

export function startTunnelServer(options: TunnelServerOptions): TunnelServer {
  const stats = { accepted: 0, refused: 0 };
  const open = new Set<OpenStream>();
  let sweepAt = 256;
  const track = (stream: OpenStream) => {
    stats.accepted++;
    // Its onClose belongs to whoever serves it: closed streams are swept here instead, when the
    // set doubled since the last sweep (amortized constant per stream).
    if (open.size >= sweepAt) {
      for (const old of open) if (old.duplex.isClosed) open.delete(old);
      sweepAt = Math.max(256, open.size * 2);
    }
    open.add(stream);
  };
  const onArtifact = options.onArtifact;
  const accept: AcceptContext = {
    credentials: options.credentials,
    ...(options.authorize ? { authorize: options.authorize } : {}),
    onStream: (stream) => {
      track(stream);
      options.onStream(stream);
    },
    ...(onArtifact
      ? {
          onArtifact: (request: ArtifactRequest) => {
            track(request);
            onArtifact(request);
          },
        }
      : {}),
    onRefused: (reason, fields) => {
      stats.refused++;
      options.onRefused?.(reason, fields);
    },
  };
  let listener: import("bun").TCPSocketListener<Phase>;
  try {
    listener = Bun.listen<Phase>({
      hostname: options.listen.host,
      port: options.listen.port,
      allowHalfOpen: true,
      socket: {
        ...(phasedHandlers as object),
        open(socket) {
          // A peer that vanished (power cut, NAT state gone) is noticed, not kept forever.
          socket.setKeepAlive(true, SERVER_KEEPALIVE_MS);
          socket.data = new SniffPhase(accept, options.relay);
        },
      },
    });
  } catch (error) {
    throw listenError("mesh tunnel, --tunnel-port", options.listen, error);
  }
  return {
    hostname: listener.hostname,
    port: listener.port,
    accept,
    stats,
    recheck() {
      let closed = 0;
      for (const stream of open) {
        if (stream.duplex.isClosed) {
          open.delete(stream);
          continue;
        }
        if (options.authorize?.(stream.peer, stream.fingerprint) ?? true) continue;
        open.delete(stream);
        stream.duplex.destroy(new Error(`node ${stream.peer} is no longer authorized`));
        options.onRefused?.("open tunnel stream closed: peer no longer authorized", {
          peer: stream.peer,
          via: stream.via,
        });
        closed++;
      }
      return closed;
    },
    stop() {
      listener.stop(true);
      options.relay?.close();
    },
  };
}
