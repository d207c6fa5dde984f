// The cloud's MQTT broker: aedes embedded in the process on --mqtt-listen, or, with --mqtt-url,
// a connection to an external broker (Mosquitto, EMQX, ...). Either way the rest of the cloud
// sees one `BrokerLink` that says whether it is up.
//
// The embedded broker enforces docs/PROTOCOL.md's rules itself: every client authenticates
// against the authority the cloud installs (until then every client is refused, so an open port
// never means an open broker); nodes connect only with their own client id; publish and subscribe
// go through src/protocol/acl.ts; and a packet announcing more than maxPacketBytes closes the
// connection before it is buffered. Each refusal is one log line and a counter. With a
// certificate and key it speaks only MQTT over TLS (src/cloud/mqtt-tls.ts loads them). Retained
// messages are looked up by topic, not scanned (broker-persistence.ts).
import { createServer, type Server as NetServer, Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import { Aedes, type Client } from "aedes";
import { mayPublish, maySubscribe, mayUseClientId } from "../protocol/acl.ts";
import { createFrameLimit } from "../protocol/frame-limit.ts";
import { MAX_MESSAGE_BYTES } from "../protocol/messages.ts";
import { CLOUD_USER } from "../protocol/topics.ts";
import { Counter } from "../runtime/counters.ts";
import type { HostPort } from "../runtime/host-port.ts";
import type { Logger } from "../runtime/log.ts";
import { listenError } from "../runtime/serve.ts";
import { NodeWireBytes } from "./broker-bytes.ts";
import { RetainedMapPersistence } from "./broker-persistence.ts";

/** Decides who may connect (src/cloud/link/sync-store.ts: createBrokerAuthority). */
export interface BrokerAuthority {
  verify(username: string, password: string): boolean;
}

export interface BrokerLink {
  /** True, or why not. */
  readiness(): true | string;
  close(): Promise<void>;
  /** Installs who may connect (embedded broker; an external broker authenticates by itself). */
  setAuthority(authority: BrokerAuthority): void;
  /** levee_mqtt_refused_total{reason}: auth, client-id, publish, subscribe, packet-size, tls. */
  readonly refused: Counter;
}

export interface EmbeddedBroker extends BrokerLink {
  /** The port it listens on (useful when asked for port 0). */
  readonly port: number;
  /** MQTT clients connected now (levee_mqtt_clients). */
  clients(): number;
  /** Bytes each node's connections carried (levee_sync_node_bytes_total). */
  readonly nodeBytes: NodeWireBytes;
  /**
   * Closes every connection authenticated as `username` (a deleted node: its reconnect is then
   * refused, and the node says why). Resolves to how many were closed.
   */
  disconnect(username: string): number;
  /** Whether a client authenticated as `username` is connected now. */
  isConnected(username: string): boolean;
}

export interface EmbeddedBrokerOptions {
  /** Largest MQTT packet accepted; default 1 MiB of message plus 64 KiB for topic and headers. */
  maxPacketBytes?: number;
  /** Listen with TLS only (mqtts://): PEM certificate (chain) and key. */
  tls?: { cert: string; key: string } | undefined;
}

const REFUSE_ALL: BrokerAuthority = { verify: () => false };

export async function startEmbeddedBroker(
  address: HostPort,
  log: Logger,
  options: EmbeddedBrokerOptions = {},
): Promise<EmbeddedBroker> {
  let authority = REFUSE_ALL;
  const refused = new Counter("levee_mqtt_refused_total", "reason");
  const maxPacketBytes = options.maxPacketBytes ?? MAX_MESSAGE_BYTES + 64 * 1024;
  /** The authenticated username of each client. */
  const users = new WeakMap<object, string>();

  const broker = await Aedes.createBroker({
    id: "levee-cloud",
    persistence: new RetainedMapPersistence(),
    // A client whose socket stops draining (a frozen or half-dead edge) holds up aedes' deliveries
    // to everyone until this expires (then it is disconnected and reconnects): keep it short, or
    // one stuck edge delays every other node's plans (test/e2e/control-plane.test.ts, frozen edge).
    drainTimeout: 3_000,
    maxTopicLevels: 16,
    authenticate: (client, username, password, done) => {
      let reason: string | undefined;
      try {
        if (
          username === undefined ||
          password === undefined ||
          !authority.verify(username, password.toString("utf8"))
        )
          reason = "auth";
        else if (!mayUseClientId(username, client.id)) reason = "client-id";
      } catch (err) {
        log.error("mqtt authentication failed", { client: client.id, username, error: err });
        reason = "auth";
      }
      if (reason !== undefined) {
        refused.inc(reason);
        log.warn("mqtt client refused", {
          client: client.id,
          username,
          reason: reason === "auth" ? "bad or missing credentials" : "client id not allowed for this user",
        });
        done(null, false);
        return;
      }
      users.set(client, username as string);
      done(null, true);
    },
    authorizePublish: (client, packet, done) => {
      const user = client ? users.get(client) : undefined;
      if (mayPublish(user, packet.topic)) {
        done(null);
        return;
      }
      refused.inc("publish");
      log.warn("mqtt publish refused", { client: client?.id, username: user, topic: packet.topic });
      done(new Error(`not authorized to publish to ${packet.topic}`));
    },
    authorizeSubscribe: (client, subscription, done) => {
      const user = users.get(client);
      if (maySubscribe(user, subscription.topic)) {
        done(null, subscription);
        return;
      }
      refused.inc("subscribe");
      log.warn("mqtt subscribe refused", { client: client.id, username: user, topic: subscription.topic });
      done(null, null);
    },
  });

  /** The clients connected now, for disconnect(). */
  const connected = new Set<Client>();
  const nodeBytes = new NodeWireBytes();
  broker.on("clientReady", (client) => {
    connected.add(client);
    const user = users.get(client);
    const conn: unknown = client.conn;
    if (user !== undefined && user !== CLOUD_USER && conn instanceof Socket) nodeBytes.track(conn, user);
  });
  broker.on("clientDisconnect", (client) => connected.delete(client));

  const sockets = new Set<Socket>();
  const onConnection = (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => {
      sockets.delete(socket);
      nodeBytes.closedConnection(socket);
    });
    broker.handle(socket);
    // Sees each chunk as aedes reads it, before the parser buffers a whole packet.
    const limit = createFrameLimit(maxPacketBytes);
    socket.on("data", (chunk: Buffer) => {
      const verdict = limit.feed(chunk);
      if (verdict.ok || socket.destroyed) return;
      refused.inc("packet-size");
      log.warn("mqtt connection closed", { remote: socket.remoteAddress, reason: verdict.reason });
      socket.destroy();
    });
  };
  let server: NetServer;
  if (options.tls) {
    const tlsServer = createTlsServer({ cert: options.tls.cert, key: options.tls.key }, onConnection);
    // A plaintext client, a client that does not trust the certificate, a port scanner.
    tlsServer.on("tlsClientError", (err, socket) => {
      refused.inc("tls");
      log.warn("mqtt tls handshake failed", { remote: socket.remoteAddress, error: err.message });
    });
    server = tlsServer;
  } else server = createServer(onConnection);
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) => reject(listenError("embedded MQTT broker, --mqtt-listen", address, err)));
    server.listen(address.port, address.host, () => resolve());
  });
  const bound = server.address();
  const port = typeof bound === "object" && bound ? bound.port : address.port;
  let listening = true;
  log.info("mqtt broker listening", { address: `${address.host}:${port}`, tls: options.tls !== undefined });
  return {
    port,
    refused,
    nodeBytes,
    clients: () => broker.connectedClients,
    disconnect: (username) => {
      let closed = 0;
      for (const client of connected) {
        if (users.get(client) !== username) continue;
        client.close();
        closed++;
      }
      if (closed > 0) log.info("mqtt clients disconnected", { username, count: closed });
      return closed;
    },
    isConnected: (username) => {
      for (const client of connected) if (users.get(client) === username) return true;
      return false;
    },
    readiness: () => (listening ? true : "broker stopped"),
    setAuthority: (next) => {
      authority = next;
    },
    close: async () => {
      listening = false;
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
}

/** The URL without its password, for logs and messages. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(invalid url)";
  }
}
