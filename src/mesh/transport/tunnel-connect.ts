// Opening a tunnel connection with a client phase (tls-stream.ts): the direct TLS connection to a node
// (dialTls), and what the relay leg (relay-dial.ts) shares with it (connectPhase: the socket handlers
// of a dial, TCP keep-alive, a failure to connect; withDeadline: the deadline and abort around a
// phase, also used over the cloud's in-process relay). Apart from tunnel-dialer.ts, which decides
// which path to take; this is how one connection is made.
import type { Socket, SocketHandler, TLSOptions } from "bun";
import { describeError } from "../../runtime/errors.ts";
import type { Duplex } from "../contracts.ts";
import { abortError, codedError } from "../proxy/dial-errors.ts";
import { clientTlsOptions, type NodeTls } from "./node-tls.ts";
import type { Preamble } from "./preamble.ts";
import type { RevocationCheck } from "./revocation.ts";
import { type Phase, type PhasedSocket, phasedHandlers } from "./socket-phases.ts";
import { ClientTlsPhase } from "./tls-stream.ts";

/** Runs a client phase to completion within `ms`, honoring `signal`. */
export async function withDeadline(
  phase: ClientTlsPhase,
  ms: number,
  signal?: AbortSignal,
): Promise<Duplex | null> {
  if (signal?.aborted) phase.abandon(abortError(signal));
  const timer = setTimeout(
    () =>
      phase.abandon(codedError(`${phase.where}: no TLS session within ${Math.round(ms)} ms`, "ETIMEDOUT")),
    ms,
  );
  const onAbort = () => phase.abandon(abortError(signal));
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    return await phase.done;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * TCP keep-alive on tunnel connections (direct, and the dialer's relay leg), first probe after this
 * long idle: a pooled stream whose peer vanished fails (and is retried when safe) in about 11 s.
 */
const TUNNEL_KEEPALIVE_MS = 1_000;

/** Socket handlers for a dial: the phased ones, plus binding the socket to the phase on open. */
function dialHandlers(onOpen: (socket: PhasedSocket) => void) {
  return {
    ...phasedHandlers,
    open: (socket: Socket<Phase>) => {
      socket.setKeepAlive(true, TUNNEL_KEEPALIVE_MS);
      onOpen(socket as PhasedSocket);
    },
    connectError: () => {},
  } as SocketHandler<Phase>;
}

function codedErrorFrom(error: unknown, where: string): Error {
  return codedError(`${where}: ${describeError(error)}`, (error as { code?: string }).code ?? "ECONNREFUSED");
}

/** A direct TLS connection to host:port that must be `target`, then the preamble. */
export function dialTls(
  host: string,
  port: number,
  credentials: NodeTls,
  target: string,
  preamble: Preamble,
  ms: number,
  signal?: AbortSignal,
  revoked?: RevocationCheck,
): Promise<Duplex | null> {
  const phase = new ClientTlsPhase(target, preamble, `node ${target} at ${host}:${port}`, revoked);
  const tls = clientTlsOptions(credentials, target);
  return connectPhase(host, port, tls, phase, (socket) => phase.bind(socket), phase, ms, signal);
}

/**
 * Connects to host:port (`tls`: TLS from the first byte) with `phase` handling the socket, which
 * `onOpen` binds to it; the dial ends with `end` (the client TLS phase), which gets a failure to
 * connect, the deadline `ms` and `signal`'s abort.
 */
export function connectPhase(
  host: string,
  port: number,
  tls: TLSOptions | undefined,
  phase: Phase,
  onOpen: (socket: PhasedSocket) => void,
  end: ClientTlsPhase,
  ms: number,
  signal?: AbortSignal,
): Promise<Duplex | null> {
  Bun.connect<Phase>({
    hostname: host,
    port,
    ...(tls ? { tls } : {}),
    allowHalfOpen: true,
    data: phase,
    socket: dialHandlers(onOpen),
  }).catch((error: unknown) => end.abandon(codedErrorFrom(error, end.where)));
  return withDeadline(end, ms, signal);
}
