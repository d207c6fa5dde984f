// A minimal MQTT 3.1.1 client on Bun.connect (TCP, or TLS with a given CA), for the edge simulator
// (bench/sim-edges.ts): the packets levee's edge link uses and nothing else. CONNECT (clean session, username/password,
// QoS 1 last will, keepalive), SUBSCRIBE at QoS 1, PUBLISH at QoS 1 both ways (PUBACK), PINGREQ
// when nothing was sent for a keepalive period (as mqtt.js does), DISCONNECT. No queue while
// disconnected, no retransmission (clean sessions; the sync protocol heals by hello/heartbeat),
// like src/protocol/mqtt-session.ts. One connection costs a few hundred bytes of JS objects plus the
// socket, where an mqtt.js client costs tens of kilobytes (measured in BENCHMARKS.md).
import type { Socket } from "bun";

export interface LiteWill {
  topic: string;
  payload: Uint8Array;
  retain: boolean;
}

export interface LiteOptions {
  host: string;
  port: number;
  clientId: string;
  username: string;
  password: string;
  keepaliveSeconds: number;
  will?: LiteWill;
  connectTimeoutMs: number;
  /** MQTT over TLS (mqtts://), trusting only this CA (PEM). */
  tls?: { ca: string };
}

export interface LiteHandlers {
  /** CONNACK with return code 0, then the SUBACK of `subscribe` (granted QoS per filter, 0x80 = refused). */
  onConnected(conn: LiteConn): void;
  onSubscribed(conn: LiteConn, granted: number[]): void;
  onMessage(conn: LiteConn, topic: string, payload: Buffer): void;
  /** The connection ended (never called twice, never after close()). */
  onClosed(conn: LiteConn, reason: string): void;
}

const enc = new TextEncoder();

function utf8(s: string): Uint8Array {
  return enc.encode(s);
}

/** MQTT "remaining length" varint. */
function remainingLength(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return out;
}

/** A packet: fixed-header byte, remaining length, then the parts (each a 2-byte-length string or raw). */
function packet(first: number, parts: (Uint8Array | number[])[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const head = [first, ...remainingLength(len)];
  const out = new Uint8Array(head.length + len);
  out.set(head, 0);
  let at = head.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function str(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + b.length);
  out[0] = b.length >> 8;
  out[1] = b.length & 0xff;
  out.set(b, 2);
  return out;
}

const u16 = (n: number): number[] => [(n >> 8) & 0xff, n & 0xff];
const PINGREQ = new Uint8Array([0xc0, 0]);
const DISCONNECT = new Uint8Array([0xe0, 0]);

export class LiteConn {
  socket: Socket<LiteConn> | undefined;
  private pending: Buffer | undefined;
  private out: Uint8Array[] = [];
  private nextId = 1;
  private closed = false;
  private connected = false;
  private lastSent = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Bytes written and read, for the simulator's own accounting. */
  sentBytes = 0;
  readBytes = 0;

  constructor(
    readonly options: LiteOptions,
    private readonly handlers: LiteHandlers,
    /** Whatever the owner hangs on the connection (its simulated edge). */
    readonly owner: unknown,
  ) {}

  start(): void {
    this.timer = setTimeout(() => this.fail("connect timeout"), this.options.connectTimeoutMs);
    const tls = this.options.tls;
    Bun.connect<LiteConn>({
      hostname: this.options.host,
      port: this.options.port,
      data: this,
      socket: SOCKET_HANDLERS,
      ...(tls ? { tls: { ca: tls.ca, rejectUnauthorized: true } } : {}),
    }).catch((err: Error) => this.fail(`connect: ${err.message}`));
  }

  isConnected(): boolean {
    return this.connected && !this.closed;
  }

  subscribe(filters: string[]): void {
    const parts: (Uint8Array | number[])[] = [u16(this.packetId())];
    for (const f of filters) parts.push(str(utf8(f)), [1]);
    this.write(packet(0x82, parts));
  }

  /** QoS 1 publish; false when not connected (nothing is queued). */
  publish(topic: string, payload: Uint8Array, retain = false): boolean {
    if (!this.isConnected()) return false;
    this.write(packet(0x32 | (retain ? 1 : 0), [str(utf8(topic)), u16(this.packetId()), payload]));
    return true;
  }

  /** Graceful: DISCONNECT (the broker drops the will), then close. */
  disconnect(): void {
    if (this.closed) return;
    if (this.socket && this.connected) this.write(DISCONNECT);
    this.finish();
    this.socket?.end();
  }

  /**
   * Abrupt, as when the network fails: the socket is closed without DISCONNECT (so the broker
   * publishes the will) and onClosed runs, as for any lost connection.
   */
  drop(): void {
    this.fail("dropped by the simulator");
  }

  private finish(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private packetId(): number {
    const id = this.nextId;
    this.nextId = id >= 0xffff ? 1 : id + 1;
    return id;
  }

  write(bytes: Uint8Array): void {
    const s = this.socket;
    if (!s || this.closed) return;
    this.lastSent = performance.now();
    this.sentBytes += bytes.length;
    if (this.out.length > 0) {
      this.out.push(bytes);
      return;
    }
    const n = s.write(bytes);
    if (n < bytes.length) this.out.push(bytes.subarray(Math.max(0, n)));
  }

  onDrain(): void {
    const s = this.socket;
    while (s && this.out.length > 0) {
      const head = this.out[0] as Uint8Array;
      const n = s.write(head);
      if (n < head.length) {
        this.out[0] = head.subarray(Math.max(0, n));
        return;
      }
      this.out.shift();
    }
  }

  onOpen(socket: Socket<LiteConn>): void {
    this.socket = socket;
    if (this.closed) {
      socket.terminate();
      return;
    }
    const o = this.options;
    let flags = 0x02 | 0x80 | 0x40; // clean session, username, password
    const payload: Uint8Array[] = [str(utf8(o.clientId))];
    if (o.will) {
      flags |= 0x04 | 0x08 | (o.will.retain ? 0x20 : 0); // will, will QoS 1, will retain
      payload.push(str(utf8(o.will.topic)), str(o.will.payload));
    }
    payload.push(str(utf8(o.username)), str(utf8(o.password)));
    this.write(packet(0x10, [str(utf8("MQTT")), [4, flags], u16(o.keepaliveSeconds), ...payload]));
  }

  onData(chunk: Buffer): void {
    this.readBytes += chunk.length;
    let buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    while (buf.length >= 2) {
      let len = 0;
      let mult = 1;
      let i = 1;
      for (;;) {
        if (i >= buf.length) {
          this.pending = Buffer.from(buf); // a copy: the socket may reuse its chunk
          return;
        }
        const b = buf[i++] as number;
        len += (b & 0x7f) * mult;
        mult *= 128;
        if ((b & 0x80) === 0) break;
        if (i > 4) {
          this.fail("malformed remaining length");
          return;
        }
      }
      if (buf.length < i + len) {
        this.pending = Buffer.from(buf);
        return;
      }
      const type = (buf[0] as number) >> 4;
      const flags = (buf[0] as number) & 0x0f;
      const body = buf.subarray(i, i + len);
      buf = buf.subarray(i + len);
      this.handle(type, flags, body);
      if (this.closed) return;
    }
    if (buf.length > 0) this.pending = Buffer.from(buf);
  }

  private handle(type: number, flags: number, body: Buffer): void {
    switch (type) {
      case 2: {
        // CONNACK
        const rc = body[1] ?? 255;
        if (rc !== 0) {
          this.fail(`connack return code ${rc}`);
          return;
        }
        if (this.timer) clearTimeout(this.timer);
        this.connected = true;
        this.schedulePing();
        this.handlers.onConnected(this);
        return;
      }
      case 3: {
        // PUBLISH
        const tlen = ((body[0] as number) << 8) | (body[1] as number);
        const topic = body.toString("utf8", 2, 2 + tlen);
        const qos = (flags >> 1) & 3;
        let at = 2 + tlen;
        if (qos > 0) {
          const id = body.subarray(at, at + 2);
          at += 2;
          this.write(new Uint8Array([0x40, 2, id[0] as number, id[1] as number]));
        }
        this.handlers.onMessage(this, topic, body.subarray(at));
        return;
      }
      case 9: // SUBACK
        this.handlers.onSubscribed(this, [...body.subarray(2)]);
        return;
      default:
        // PUBACK (4), PINGRESP (13): nothing to do
        return;
    }
  }

  private schedulePing(): void {
    const ms = this.options.keepaliveSeconds * 1000;
    this.timer = setTimeout(
      () => {
        if (this.closed) return;
        if (performance.now() - this.lastSent >= ms - 50) this.write(PINGREQ);
        this.schedulePing();
      },
      Math.max(100, ms - (performance.now() - this.lastSent)),
    );
  }

  fail(reason: string): void {
    if (this.closed) return;
    this.finish();
    this.socket?.terminate();
    this.handlers.onClosed(this, reason);
  }

  /** The socket went away on its own. */
  onSocketClosed(reason: string): void {
    if (this.closed) return;
    this.finish();
    this.handlers.onClosed(this, reason);
  }
}

const SOCKET_HANDLERS = {
  open(socket: Socket<LiteConn>) {
    socket.data.onOpen(socket);
  },
  data(socket: Socket<LiteConn>, chunk: Buffer) {
    socket.data.onData(chunk);
  },
  drain(socket: Socket<LiteConn>) {
    socket.data.onDrain();
  },
  close(socket: Socket<LiteConn>, err?: Error) {
    socket.data.onSocketClosed(err ? err.message : "connection closed");
  },
  end(socket: Socket<LiteConn>) {
    socket.data.onSocketClosed("connection closed by the broker");
    socket.end();
  },
  error(socket: Socket<LiteConn>, err: Error) {
    socket.data.onSocketClosed(err.message);
  },
  connectError(socket: Socket<LiteConn>, err: Error) {
    socket.data.onSocketClosed(`connect: ${err.message}`);
  },
};
