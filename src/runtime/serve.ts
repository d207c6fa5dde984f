// Starts an HTTP listener with Bun.serve and turns bind failures into one-line errors that name
// the flag the address came from.

import { ExitError } from "./errors.ts";
import type { HostPort } from "./host-port.ts";

export class ListenError extends ExitError {
  readonly exitCode = 1;
}

export type Server = ReturnType<typeof Bun.serve>;

export function serveHttp(
  what: string,
  address: HostPort,
  fetch: (req: Request, server: Server) => Response | Promise<Response>,
  options: {
    maxRequestBodySize?: number;
    tls?: { cert: string; key: string };
    /** WebSocket events (socket-upgrade.ts), for routes that upgrade their requests. */
    // biome-ignore lint/suspicious/noExplicitAny: Bun's handler type is generic in each connection's data
    websocket?: import("bun").WebSocketHandler<any>;
  } = {},
): Server {
  try {
    // development: false — Bun's development mode prints the stack of every response stream that
    // errors (a log stream broken off on purpose) to stderr, outside the agent's log. Without
    // development mode Bun binds with SO_REUSEPORT unless told not to: a port in use must fail.
    const { websocket, ...rest } = options;
    const base = {
      hostname: address.host,
      port: address.port,
      fetch,
      idleTimeout: 60,
      development: false,
      reusePort: false,
      ...rest,
    } as const;
    return websocket ? Bun.serve({ ...base, websocket }) : Bun.serve(base);
  } catch (err) {
    throw listenError(what, address, err);
  }
}

export function listenError(what: string, address: HostPort, err: unknown): ListenError {
  const code = (err as { code?: string }).code;
  const reason =
    code === "EADDRINUSE"
      ? "address already in use"
      : code === "EADDRNOTAVAIL"
        ? "address not available on this host"
        : code === "EACCES"
          ? "permission denied"
          : err instanceof Error
            ? err.message.split("\n")[0]
            : String(err);
  return new ListenError(`cannot listen on ${address.host}:${address.port} (${what}): ${reason}`);
}
