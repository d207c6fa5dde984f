// Listening and connecting with SocketDuplex: listenDuplex turns every accepted connection (TLS: after a
// successful handshake) into a SocketDuplex; connectDuplex resolves once a connection is usable, with an
// abort signal and a timeout of its own. Apart from socket-duplex.ts because opening a connection (who
// wins between open, handshake, abort and timeout) is a concern of its own, separate from moving bytes
// over one that is open.
import type { Socket, SocketHandler, TCPSocketListener, TLSOptions } from "bun";
import type { Duplex } from "../contracts.ts";
import { abortError, asError, codedError } from "./dial-errors.ts";
import { duplexSocketHandlers, SocketDuplex, type WaterMarks } from "./socket-duplex.ts";

export interface ListenDuplexOptions extends WaterMarks {
  hostname: string;
  port: number;
  tls?: TLSOptions;
  /** SO_REUSEPORT: several listeners (the mesh threads) share the port; the kernel spreads connections. */
  reusePort?: boolean;
}

/**
 * Listens; every accepted connection becomes a SocketDuplex. TLS: only after a successful handshake
 * (with requestCert + ca, a client without a valid certificate never reaches onConnection).
 */
export function listenDuplex(
  options: ListenDuplexOptions,
  onConnection: (duplex: SocketDuplex) => void,
): TCPSocketListener<SocketDuplex> {
  const marks = { highWaterMark: options.highWaterMark, lowWaterMark: options.lowWaterMark };
  const accept = (socket: Socket<SocketDuplex>) => {
    const duplex = new SocketDuplex(marks);
    duplex.attach(socket);
    try {
      onConnection(duplex);
    } catch (error) {
      duplex.destroy(asError(error));
    }
  };
  return Bun.listen<SocketDuplex>({
    hostname: options.hostname,
    port: options.port,
    allowHalfOpen: true,
    ...(options.reusePort ? { reusePort: true } : {}),
    ...(options.tls
      ? {
          tls: options.tls,
          socket: {
            ...duplexSocketHandlers,
            handshake(socket, success) {
              if (success) accept(socket);
              else socket.terminate();
            },
          },
        }
      : { socket: { ...duplexSocketHandlers, open: accept } }),
  });
}

export interface ConnectDuplexOptions extends WaterMarks {
  tls?: TLSOptions | boolean;
  signal?: AbortSignal;
  /** Gives up (error code ETIMEDOUT) after this many ms; default: no limit of ours. */
  timeoutMs?: number;
}

/** Connects; resolves once the connection is open (TLS: once the handshake succeeded). */
export function connectDuplex(
  host: string,
  port: number,
  options: ConnectDuplexOptions = {},
): Promise<Duplex> {
  const { signal, timeoutMs, tls } = options;
  if (signal?.aborted) return Promise.reject(abortError(signal));
  const duplex = new SocketDuplex(options);
  return new Promise<Duplex>((resolve, reject) => {
    let settled = false;
    /** Given up on (aborted, timed out, failed): a socket that still opens is closed at once. */
    let abandoned = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const settle = (error?: unknown): boolean => {
      if (settled) return false;
      settled = true;
      abandoned = error !== undefined;
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      if (error !== undefined) reject(error);
      else resolve(duplex);
      return true;
    };
    const onAbort = () => settle(abortError(signal));
    signal?.addEventListener("abort", onAbort, { once: true });
    if (timeoutMs !== undefined)
      timer = setTimeout(
        () => settle(codedError(`connect to ${host}:${port} timed out after ${timeoutMs} ms`, "ETIMEDOUT")),
        timeoutMs,
      );
    const ready = (socket: Socket<SocketDuplex>) => {
      if (!settle()) socket.terminate();
    };
    const handlers: SocketHandler<SocketDuplex> = {
      ...duplexSocketHandlers,
      open(socket) {
        if (abandoned) return socket.terminate();
        duplex.attach(socket);
        if (!tls) ready(socket);
      },
      close(socket, error) {
        // e.g. a TLS handshake that failed: the socket closes before it was usable
        settle(error ?? codedError(`connection to ${host}:${port} closed while opening`, "ECONNRESET"));
        duplexSocketHandlers.close?.(socket, error);
      },
      connectError() {
        // Bun.connect() rejects with the same error (below)
      },
    };
    // TLS: Bun calls open and resolves connect() before the handshake; usable only after it succeeded.
    if (tls)
      handlers.handshake = (socket, success, error) => {
        if (success) return ready(socket);
        settle(
          codedError(`TLS handshake with ${host}:${port} failed: ${error?.message ?? "refused"}`, "ETLS"),
        );
        socket.terminate();
      };
    Bun.connect<SocketDuplex>({
      hostname: host,
      port,
      ...(tls ? { tls } : {}),
      allowHalfOpen: true,
      data: duplex,
      socket: handlers,
    }).then(
      (socket) => {
        if (abandoned) socket.terminate();
      },
      (error) => settle(error),
    );
  });
}
