// Bun fixes a socket's handlers when the socket is created, but a tunnel or relay connection goes
// through phases: header lines, a TLS upgrade, then a plain byte stream. These handlers dispatch to
// whatever socket.data is now: a Phase object (this module's), or, once the stream starts, the
// SocketDuplex of the proxy (socket-duplex.ts), which takes over the socket with attach().
//
// After socket.upgradeTLS() Bun keeps calling the raw socket's handlers with the ciphertext that
// also feeds the TLS socket: the raw socket then gets the IGNORE phase.
import type { Socket, SocketHandler } from "bun";
import { asError } from "../proxy/dial-errors.ts";
import { duplexSocketHandlers, SocketDuplex } from "../proxy/socket-duplex.ts";

export interface Phase {
  data(socket: PhasedSocket, chunk: Buffer): void;
  handshake?(socket: PhasedSocket, success: boolean, error: Error | null): void;
  drain?(socket: PhasedSocket): void;
  end?(socket: PhasedSocket): void;
  close?(socket: PhasedSocket, error?: Error): void;
  /** A handler of this phase threw: the connection is closed; report it. */
  failed?(error: Error): void;
}

export type PhasedSocket = Socket<Phase | SocketDuplex>;

/** A phase that ignores everything (the raw side of an upgraded socket). */
export const IGNORE: Phase = { data() {} };

/** Closes a socket at once; whatever it still reports goes nowhere. */
export function dropSocket(socket: PhasedSocket): void {
  socket.data = IGNORE;
  socket.terminate();
}

const asDuplexSocket = (socket: PhasedSocket) => socket as Socket<SocketDuplex>;

function run(socket: PhasedSocket, call: (phase: Phase) => void): void {
  const phase = socket.data;
  if (phase instanceof SocketDuplex) return;
  try {
    call(phase);
  } catch (error) {
    // A bug in a phase closes that connection, never the process.
    dropSocket(socket);
    phase.failed?.(asError(error));
  }
}

export const phasedHandlers: SocketHandler<Phase | SocketDuplex> = {
  binaryType: "buffer",
  data(socket, chunk) {
    if (socket.data instanceof SocketDuplex)
      return duplexSocketHandlers.data?.(asDuplexSocket(socket), chunk);
    run(socket, (p) => p.data(socket, chunk));
  },
  handshake(socket, success, error) {
    run(socket, (p) => p.handshake?.(socket, success, error));
  },
  drain(socket) {
    if (socket.data instanceof SocketDuplex) return duplexSocketHandlers.drain?.(asDuplexSocket(socket));
    run(socket, (p) => p.drain?.(socket));
  },
  end(socket) {
    if (socket.data instanceof SocketDuplex) return duplexSocketHandlers.end?.(asDuplexSocket(socket));
    run(socket, (p) => p.end?.(socket));
  },
  error(socket, error) {
    if (socket.data instanceof SocketDuplex)
      return duplexSocketHandlers.error?.(asDuplexSocket(socket), error);
  },
  close(socket, error) {
    if (socket.data instanceof SocketDuplex)
      return duplexSocketHandlers.close?.(asDuplexSocket(socket), error);
    run(socket, (p) => p.close?.(socket, error));
  },
};

/** Hands a socket to a new SocketDuplex; `rest` (bytes already read past the headers) comes first. */
export function startStream(socket: PhasedSocket, rest: Uint8Array): SocketDuplex {
  const duplex = new SocketDuplex();
  duplex.attach(asDuplexSocket(socket));
  if (rest.byteLength > 0) duplex.handleData(rest);
  return duplex;
}

/** Bun's native TLS upgrade of an open socket, as TLS server or client (`isServer` is what node:tls uses). */
export function upgradeTls(
  raw: PhasedSocket,
  options: { isServer: boolean; tls: import("bun").TLSOptions; phase: Phase; initialData?: Uint8Array },
): PhasedSocket {
  raw.data = IGNORE;
  const upgrade = raw.upgradeTLS as unknown as (o: object) => [PhasedSocket, PhasedSocket] | undefined;
  const pair = upgrade.call(raw, {
    isServer: options.isServer,
    tls: options.tls,
    data: options.phase,
    socket: phasedHandlers,
    ...(options.initialData && options.initialData.byteLength > 0
      ? { initialData: Buffer.from(options.initialData) }
      : {}),
  });
  if (!pair) throw new Error("TLS upgrade of the socket failed");
  return pair[1];
}
