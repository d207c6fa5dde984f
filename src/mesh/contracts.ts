// The contracts between the parts of the mesh, so that each part can be built and
// tested on its own:
//   catalog   what every node knows about every node and service (shipped by the cloud over the
//             sync protocol, kept in each node's SQLite, so routing works while the cloud is away);
//   routing   pure decisions: which endpoint serves a request arriving at this node, or which
//             node to forward it to, or why it is refused (src/mesh/routing/);
//   proxy     the HTTP/1.1 and TCP data path on raw sockets (src/mesh/proxy/);
//   transport how bytes reach another node's agent: mutual TLS with node certificates, direct or
//             through the cloud node as relay (src/mesh/transport/).

/** Version of the catalog's wire and storage format. */
export const CATALOG_VERSION = 1;

export type NodeRole = "cloud" | "edge";
export type NodeState = "Ready" | "Disconnected" | "Lost";

export interface CatalogNode {
  name: string;
  role: NodeRole;
  /** Addresses other agents may reach it at (its advertise address first). */
  addresses: string[];
  labels: Record<string, string>;
  state: NodeState;
  /** The port of its agent-to-agent tunnel listener (mutual TLS). */
  tunnelPort: number;
}

export interface CatalogWorker {
  node: string;
  index: number;
  ready: boolean;
}

export interface CatalogService {
  name: string;
  /** The service port every node listens on (spec.mesh.port). */
  port: number;
  protocol: "http" | "tcp";
  balance: "round-robin" | "least-request" | "p2c-ewma";
  fallback: "none" | "cloud" | "any";
  upstreams: { service: string; node: string; localPort: number }[];
  /** Where its workers are planned, with the readiness their nodes last reported. */
  workers: CatalogWorker[];
}

/** The whole catalog: small (nodes × services), shipped and stored whole, newest revision wins. */
export interface Catalog {
  v: typeof CATALOG_VERSION;
  /** Grows with every change (per cloud epoch). */
  revision: number;
  epoch: string;
  nodes: CatalogNode[];
  services: CatalogService[];
  /**
   * The cluster as the Kubernetes API facade shows it (src/kube/view.ts), present when Dayu objects
   * exist: every node answers the facade's reads from it while the cloud is away. Opaque here; the
   * facade checks it with its own schema.
   */
  kube?: unknown;
  /**
   * Certificates the cloud revoked (those it issued to deleted nodes) that have not expired yet:
   * every node refuses a peer presenting one (src/mesh/transport/revocation.ts). Absent: none.
   */
  revoked?: RevokedCertificate[];
}

/** A revoked node certificate: its SHA-256 fingerprint and when it would have expired anyway. */
export interface RevokedCertificate {
  /** SHA-256 of the certificate's DER, lowercase hex. */
  fingerprint: string;
  /** The certificate's notAfter (ISO 8601): after it, the entry is dropped. */
  expiresAt: string;
}

/** A worker on THIS node that a service port may send traffic to (from the local supervisor). */
export interface LocalEndpoint {
  service: string;
  index: number;
  /** 127.0.0.1:port reaches it. */
  port: number;
  ready: boolean;
}

/** Where the proxy sends a connection or a request. */
export type DialTarget =
  /** A worker on this node, over loopback. */
  | { kind: "local"; service: string; index: number; port: number }
  /**
   * The service port of another node, through the transport (direct or relayed). `forwarded`: a
   * fallback sent it there, so that node serves it or refuses it, never forwards it again.
   */
  | { kind: "node"; node: string; service: string; forwarded?: boolean };

/**
 * A byte stream with explicit back-pressure: what the proxy splices, whatever is underneath
 * (a TCP socket to a worker, a TLS connection to a peer agent, a relayed TLS connection).
 */
export interface Duplex {
  /** Queues bytes; false when the queue is above the high-water mark (wait for onDrain). */
  write(chunk: Uint8Array): boolean;
  /** Half-close after the queued bytes are written. */
  end(): void;
  /** Closes at once (both directions). */
  destroy(reason?: Error): void;
  /** Stops / restarts delivering onData (back-pressure towards the sender). */
  pause(): void;
  resume(): void;
  onData(handler: (chunk: Uint8Array) => void): void;
  /** The write queue went below the low-water mark. */
  onDrain(handler: () => void): void;
  /** The peer half-closed (no more data will arrive). */
  onEnd(handler: () => void): void;
  /** Closed for good; error set when it broke. Called once. */
  onClose(handler: (error?: Error) => void): void;
  /**
   * TCP keep-alive probes after this long idle (then every second, 10 probes): a peer that vanished
   * without a FIN or RST turns into an error instead of a connection that hangs. Optional (a Duplex
   * that is not a socket has no such thing).
   */
  keepAlive?(initialDelayMs: number): void;
  readonly remoteAddress: string;
}

/** Opens streams to dial targets; pooled connections are the dialer's business. */
export interface Dialer {
  dial(target: DialTarget, signal?: AbortSignal): Promise<Duplex>;
}
