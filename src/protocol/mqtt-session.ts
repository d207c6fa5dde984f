// One MQTT session that keeps itself connected: the shared transport of the edge link and the
// cloud link. mqtt.js's own reconnect waits a fixed period, so it is off (reconnectPeriod 0) and
// every attempt is a fresh clean-session client scheduled here with exponential backoff and full
// jitter. Nothing is queued while disconnected: publish() says false and the protocol heals by
// the next hello or heartbeat (level-triggered), not by a replayed queue.
import { checkServerIdentity, type PeerCertificate } from "node:tls";
import mqtt, { type MqttClient } from "mqtt";
import { Backoff, type BackoffOptions, DEFAULT_BACKOFF } from "../runtime/backoff.ts";
import type { Logger } from "../runtime/log.ts";
import type { SyncBytes } from "./sync-bytes.ts";

export interface FinalMessage {
  topic: string;
  payload: Buffer;
  retain: boolean;
}

/** What a client trusts for an mqtts:// broker: only this CA (PEM), and optionally a fixed name. */
export interface ClientTls {
  ca: string;
  /** Verify the broker's certificate against this name instead of the URL's host. */
  expectName?: string | undefined;
}

export interface MqttSessionOptions {
  url: string;
  /** For mqtts:// URLs: the CA to verify the broker with (default: the system CAs). */
  tls?: ClientTls | undefined;
  clientId: string;
  username: string;
  password: string;
  /** The last will (QoS 1), made anew for every connection attempt. */
  will?: () => FinalMessage;
  /** Filters subscribed (QoS 1) on every connect, before onReady. */
  subscriptions: readonly string[];
  log: Logger;
  backoff?: BackoffOptions;
  connectTimeoutMs?: number;
  keepaliveSeconds?: number;
  /** A connection that lasted this long resets the backoff; a flapping one keeps backing off. */
  stableMs?: number;
  /** Connected and subscribed. */
  onReady: () => void;
  onMessage: (topic: string, payload: Buffer) => void;
  /** Counts every packet sent and received, by kind (levee_sync_bytes_total). */
  bytes?: SyncBytes | undefined;
  /** The connection went away (not called by close()). */
  onDown?: (reason: string) => void;
  /**
   * What it means when the broker refuses the credentials (CONNACK 4 or 5), e.g. that the node
   * was removed: said (at error level, once) and reported by state() instead of the bare code.
   * Asked at each refusal; undefined: nothing to add (e.g. a broker that may not know new
   * credentials yet).
   */
  credentialsRefused?: () => string | undefined;
}

/** CONNACK return codes of MQTT 3.1.1 that refuse who the client is: bad credentials, not authorized. */
const CREDENTIALS_REFUSED = new Set([4, 5]);

/** The URL without credentials, for logs and state(). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    return u.toString().replace(/\/$/, "");
  } catch {
    return "(invalid url)";
  }
}

export class MqttSession {
  private client: MqttClient | undefined;
  private ready = false;
  private closed = false;
  private reason = "not started";
  private lastLogged = "";
  private retry: ReturnType<typeof setTimeout> | undefined;
  private readonly backoff: Backoff;
  private connectedAt = 0;
  private readonly where: string;
  /** Filters added after construction (addSubscription), subscribed on every connect too. */
  private readonly extra: string[] = [];

  constructor(private readonly options: MqttSessionOptions) {
    this.backoff = new Backoff(options.backoff ?? DEFAULT_BACKOFF);
    this.where = redactUrl(options.url);
  }

  start(): void {
    if (this.closed || this.client) return;
    this.attempt();
  }

  isReady(): boolean {
    return this.ready;
  }

  /** True when connected and subscribed, else why not. */
  state(): true | string {
    return this.ready ? true : this.reason;
  }

  /** Publishes at QoS 1 if connected; false (nothing queued) if not. */
  publish(topic: string, payload: Buffer, retain = false, done?: (err?: Error) => void): boolean {
    const client = this.client;
    if (!this.ready || !client) return false;
    client.publish(topic, payload, { qos: 1, retain }, (err) => done?.(err ?? undefined));
    return true;
  }

  /**
   * Publishes at QoS 0 if connected (no packet id, no PUBACK: 6 bytes less on the wire), for what
   * the next one replaces anyway (beats); false when not connected.
   */
  publishUnacked(topic: string, payload: Buffer): boolean {
    const client = this.client;
    if (!this.ready || !client) return false;
    client.publish(topic, payload, { qos: 0, retain: false });
    return true;
  }

  /**
   * Subscribes to one more filter (QoS 1): at once if connected, and on every later connect. A
   * refused subscription is logged; it does not end the session.
   */
  addSubscription(filter: string): void {
    if (this.extra.includes(filter) || this.options.subscriptions.includes(filter)) return;
    this.extra.push(filter);
    if (this.ready && this.client) this.subscribeExtra(this.client, [filter]);
  }

  /** Optional subscriptions: a broker refusing one (an old ACL file) costs only that feature. */
  private subscribeExtra(client: MqttClient, filters: string[]): void {
    if (filters.length === 0) return;
    client.subscribe(filters, { qos: 1 }, (err, granted) => {
      if (this.client !== client) return;
      const refused = (granted ?? []).filter((g) => g.qos > 2).map((g) => g.topic);
      if (err || refused.length > 0) {
        this.options.log.warn("mqtt subscription refused (is the broker's ACL current?)", {
          url: this.where,
          filters: err ? filters : refused,
          ...(err ? { error: err.message } : {}),
        });
      }
    });
  }

  /** Ends the session for good: publishes `final` if connected (e.g. presence offline), then disconnects. */
  async close(final?: FinalMessage, timeoutMs = 2000): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
    const client = this.client;
    this.client = undefined;
    const wasReady = this.ready;
    this.ready = false;
    this.reason = "closed";
    if (!client) return;
    if (wasReady && final) {
      await withTimeout(
        new Promise<void>((resolve) =>
          client.publish(final.topic, final.payload, { qos: 1, retain: final.retain }, () => resolve()),
        ),
        timeoutMs,
      );
    }
    const graceful = wasReady;
    await withTimeout(new Promise<void>((resolve) => client.end(!graceful, {}, () => resolve())), timeoutMs);
    client.end(true);
    client.removeAllListeners();
    client.on("error", () => {});
  }

  private attempt(): void {
    const o = this.options;
    this.reason = `connecting to ${this.where}`;
    const client = mqtt.connect({
      ...brokerAddress(o.url),
      clientId: o.clientId,
      username: o.username,
      password: o.password,
      clean: true,
      protocolVersion: 4,
      reconnectPeriod: 0,
      resubscribe: false,
      queueQoSZero: false,
      // No table of 65,536 pre-built 2-byte buffers (mqtt-packet's number cache, shared with the
      // cloud's broker): ~5 MB of live heap, a third of an idle agent's (bench/mesh.ts).
      writeCache: false,
      connectTimeout: o.connectTimeoutMs ?? 10_000,
      keepalive: o.keepaliveSeconds ?? 30,
      ...(o.will ? { will: { ...o.will(), qos: 1 as const } } : {}),
      ...(o.tls ? tlsOptions(o.tls) : {}),
    });
    this.client = client;
    const bytes = o.bytes;
    if (bytes) {
      client.on("packetsend", (packet) => bytes.count("sent", packet));
      client.on("packetreceive", (packet) => bytes.count("received", packet));
    }
    let lastError = "";
    let refusedCredentials = false;
    let down = false;

    client.on("connect", () => {
      if (this.client !== client) return;
      this.connectedAt = Date.now();
      client.subscribe([...o.subscriptions], { qos: 1 }, (err, granted) => {
        if (this.client !== client) return;
        const refused = (granted ?? []).filter((g) => g.qos > 2).map((g) => g.topic);
        if (err || refused.length > 0) {
          lastError = err
            ? `subscribe failed: ${err.message}`
            : `subscription refused: ${refused.join(", ")}`;
          o.log.error("mqtt subscription refused", { url: this.where, detail: lastError });
          client.end(true);
          return;
        }
        this.ready = true;
        this.subscribeExtra(client, this.extra);
        this.reason = "connected";
        this.lastLogged = "";
        o.log.info("mqtt connected", { url: this.where, clientId: o.clientId });
        try {
          o.onReady();
        } catch (e) {
          o.log.error("mqtt on-connect handler failed", { error: e });
        }
      });
    });
    client.on("message", (topic, payload) => {
      if (this.client !== client) return;
      try {
        o.onMessage(topic, payload);
      } catch (e) {
        o.log.error("mqtt message handler failed", { topic, error: e });
      }
    });
    client.on("error", (err) => {
      lastError = err.message;
      if (CREDENTIALS_REFUSED.has((err as Error & { code?: number }).code ?? 0)) refusedCredentials = true;
    });
    client.on("close", () => {
      if (down || this.client !== client) return;
      down = true;
      const wasReady = this.ready;
      this.ready = false;
      client.end(true);
      client.removeAllListeners();
      client.on("error", () => {});
      this.client = undefined;
      if (this.closed) return;
      if (wasReady && Date.now() - this.connectedAt >= (o.stableMs ?? 10_000)) this.backoff.reset();
      const meaning = refusedCredentials ? o.credentialsRefused?.() : undefined;
      const refused = meaning !== undefined;
      const why = refused
        ? `${lastError}: ${meaning}`
        : lastError || (wasReady ? "connection lost" : "connection closed");
      const delay = this.backoff.next();
      this.reason = `not connected to ${this.where}: ${why} (retrying in ${(delay / 1000).toFixed(1)} s)`;
      const line = wasReady ? "mqtt connection lost" : "mqtt cannot connect";
      if (refused && why !== this.lastLogged)
        o.log.error("mqtt credentials refused", { url: this.where, reason: why, retryMs: delay });
      else if (wasReady || why !== this.lastLogged)
        o.log.warn(line, { url: this.where, reason: why, retryMs: delay });
      else o.log.debug(line, { url: this.where, reason: why, retryMs: delay });
      this.lastLogged = why;
      if (wasReady) o.onDown?.(why);
      this.retry = setTimeout(() => {
        this.retry = undefined;
        if (!this.closed) this.attempt();
      }, delay);
    });
  }
}

/** tls.connect options that trust `tls.ca` only, and check the broker's name if one is fixed. */
export function tlsOptions(tls: ClientTls): {
  ca: string;
  rejectUnauthorized: true;
  checkServerIdentity?: (host: string, cert: PeerCertificate) => Error | undefined;
} {
  const { expectName } = tls;
  return {
    ca: tls.ca,
    rejectUnauthorized: true,
    ...(expectName !== undefined
      ? {
          checkServerIdentity: (_host: string, cert: PeerCertificate) =>
            checkServerIdentity(expectName, cert),
        }
      : {}),
  };
}

function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    promise.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      () => {
        clearTimeout(timer);
        resolve();
      },
    );
  });
}

/**
 * protocol/host/port of a broker URL, parsed with the WHATWG URL parser: handing mqtt.js the URL
 * string makes it call the deprecated url.parse(), which prints a warning outside our logs.
 */
export function brokerAddress(url: string): {
  protocol: "mqtt" | "mqtts" | "ws" | "wss";
  host: string;
  port: number;
} {
  const u = new URL(url);
  const protocol = u.protocol.replace(/:$/, "");
  const known = { mqtt: 1883, tcp: 1883, mqtts: 8883, tls: 8883, ws: 80, wss: 443 } as const;
  if (!(protocol in known)) throw new Error(`unsupported broker URL scheme ${protocol}: in ${url}`);
  const normalized = protocol === "tcp" ? "mqtt" : protocol === "tls" ? "mqtts" : protocol;
  const port = u.port ? Number(u.port) : known[protocol as keyof typeof known];
  return {
    protocol: normalized as "mqtt" | "mqtts" | "ws" | "wss",
    host: u.hostname.replace(/^\[|\]$/g, ""),
    port,
  };
}
