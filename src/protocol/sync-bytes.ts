// What the sync link costs on the wire: every MQTT packet a session sends or receives, sized as
// MQTT 3.1.1 encodes it (fixed header, variable header with the topic and packet id, payload; not
// TCP/IP or TLS framing) and sorted by kind: the sync message's type for a node's up/down topics
// (heartbeat, plan, status…), the topic's purpose for the others (presence, catalog, logs), and
// the protocol's own packets (puback, keepalive pings, session set-up). levee_sync_bytes_total
// {direction,kind} on the agent and on the cloud (README "What sync costs"). Pure: packets in,
// sums out; mqtt-session.ts feeds it from mqtt.js's packetsend/packetreceive events.
import { Buffer } from "node:buffer";
import { CHANNEL_OF } from "./messages.ts";
import { CATALOG_TOPIC, TOPIC_ROOT } from "./topics.ts";

export type SyncDirection = "sent" | "received";

/** The fields of an mqtt.js packet this sizes (mqtt-packet's shapes, loosely typed). */
export interface PacketLike {
  cmd: string;
  topic?: string | undefined;
  payload?: Buffer | Uint8Array | string | undefined;
  qos?: number | undefined;
  clientId?: string | undefined;
  username?: string | undefined;
  password?: Buffer | string | undefined;
  will?: { topic?: string; payload?: Buffer | Uint8Array | string } | undefined;
  subscriptions?: { topic: string }[] | undefined;
  unsubscriptions?: string[] | undefined;
  granted?: unknown[] | undefined;
  protocolId?: string | undefined;
}

const len = (v: Buffer | Uint8Array | string | undefined): number =>
  v === undefined ? 0 : typeof v === "string" ? Buffer.byteLength(v, "utf8") : v.length;

/** Bytes of MQTT's "remaining length" varint for a body of `n` bytes. */
function varintBytes(n: number): number {
  return n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4;
}

/** A packet's size on the wire: fixed header (type byte + remaining length) and its body. */
export function packetBytes(p: PacketLike): number {
  let body: number;
  switch (p.cmd) {
    case "publish":
      body = 2 + len(p.topic) + ((p.qos ?? 0) > 0 ? 2 : 0) + len(p.payload);
      break;
    case "puback":
    case "pubrec":
    case "pubrel":
    case "pubcomp":
    case "unsuback":
    case "connack":
      body = 2;
      break;
    case "pingreq":
    case "pingresp":
    case "disconnect":
      body = 0;
      break;
    case "suback":
      body = 2 + (p.granted?.length ?? 1);
      break;
    case "subscribe":
      body = 2 + (p.subscriptions ?? []).reduce((n, s) => n + 3 + len(s.topic), 0);
      break;
    case "unsubscribe":
      body = 2 + (p.unsubscriptions ?? []).reduce((n, t) => n + 2 + len(t), 0);
      break;
    case "connect":
      body =
        2 +
        len(p.protocolId ?? "MQTT") +
        4 +
        2 +
        len(p.clientId) +
        (p.will ? 4 + len(p.will.topic) + len(p.will.payload) : 0) +
        (p.username !== undefined ? 2 + len(p.username) : 0) +
        (p.password !== undefined ? 2 + len(p.password) : 0);
      break;
    default:
      body = 0;
  }
  return 1 + varintBytes(body) + body;
}

/** Sync message types a kind may name (every type the protocol has); anything else on a node topic is "other". */
const MESSAGE_KINDS: ReadonlySet<string> = new Set(Object.keys(CHANNEL_OF));
const TYPE_MARK = Buffer.from('"type":"');
/** How far into a payload the type field is looked for (the envelope's fields come first). */
const TYPE_SCAN_BYTES = 1024;

/** The kind a packet is counted under (a small, fixed set: the label stays bounded). */
export function packetKind(p: PacketLike): string {
  switch (p.cmd) {
    case "publish":
      return publishKind(p.topic ?? "", p.payload);
    case "puback":
    case "pubrec":
    case "pubrel":
    case "pubcomp":
      return "puback";
    case "pingreq":
    case "pingresp":
      return "keepalive";
    default:
      return "session";
  }
}

function publishKind(topic: string, payload: PacketLike["payload"]): string {
  if (topic === CATALOG_TOPIC) return "catalog";
  if (!topic.startsWith(`${TOPIC_ROOT}node/`)) return "other";
  if (topic.endsWith("/presence")) return "presence";
  if (topic.endsWith("/logs")) return "logs";
  if (!topic.endsWith("/up") && !topic.endsWith("/down")) return "other";
  if (payload === undefined || typeof payload === "string") return "other";
  const head = Buffer.from(payload.buffer, payload.byteOffset, Math.min(payload.length, TYPE_SCAN_BYTES));
  const at = head.indexOf(TYPE_MARK);
  if (at < 0) return "other";
  const start = at + TYPE_MARK.length;
  const end = head.indexOf(0x22, start);
  const type = end < 0 ? "" : head.toString("latin1", start, end);
  return MESSAGE_KINDS.has(type) ? type : "other";
}

/** Running totals by direction and kind: bytes and packets. */
export class SyncBytes {
  private readonly bytes = new Map<string, number>();
  private readonly packets = new Map<string, number>();

  /** Counts one packet (what mqtt-session.ts calls on each packetsend/packetreceive). */
  count(direction: SyncDirection, packet: PacketLike): void {
    this.add(direction, packetKind(packet), packetBytes(packet));
  }

  add(direction: SyncDirection, kind: string, bytes: number): void {
    const key = `${direction}\0${kind}`;
    this.bytes.set(key, (this.bytes.get(key) ?? 0) + bytes);
    this.packets.set(key, (this.packets.get(key) ?? 0) + 1);
  }

  /** [{direction, kind}, bytes] for /metrics. */
  byteSeries(): [{ direction: string; kind: string }, number][] {
    return series(this.bytes);
  }

  packetSeries(): [{ direction: string; kind: string }, number][] {
    return series(this.packets);
  }

  bytesOf(direction: SyncDirection, kind?: string): number {
    return sum(this.bytes, direction, kind);
  }

  packetsOf(direction: SyncDirection, kind?: string): number {
    return sum(this.packets, direction, kind);
  }
}

function series(map: Map<string, number>): [{ direction: string; kind: string }, number][] {
  return [...map].map(([key, n]) => {
    const [direction = "", kind = ""] = key.split("\0");
    return [{ direction, kind }, n];
  });
}

function sum(map: Map<string, number>, direction: string, kind: string | undefined): number {
  let total = 0;
  for (const [key, n] of map) {
    const [d, k] = key.split("\0");
    if (d === direction && (kind === undefined || k === kind)) total += n;
  }
  return total;
}
