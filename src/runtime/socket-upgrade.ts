// WebSockets on a Bun.serve listener, one handler object per connection: a route that accepts a
// WebSocket calls upgrade() with what to do once it is open (which returns the connection's
// message and close handlers), and the listener is started with socketHandlers(), which passes
// Bun's events to them. Binary messages arrive as Uint8Array views of exactly their bytes.
import type { ServerWebSocket, WebSocketHandler } from "bun";

/** What a connection does with its messages and its end. */
export interface SocketHandlers {
  message(message: string | Uint8Array): void;
  closed(): void;
}

/** The socket as a route sees it. */
export interface OpenSocket {
  send(message: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
}

interface SocketData {
  onOpen: (socket: OpenSocket) => SocketHandlers;
  handlers?: SocketHandlers;
}

export interface SocketLimits {
  /** The largest message accepted; a bigger one closes the connection (1009). */
  maxPayloadLength: number;
  /** Bytes queued for a slow peer before the connection is closed rather than messages dropped. */
  backpressureLimit: number;
}

/** The `websocket` option of Bun.serve for connections made by upgrade(). */
export function socketHandlers(limits: SocketLimits): WebSocketHandler<SocketData> {
  return {
    maxPayloadLength: limits.maxPayloadLength,
    backpressureLimit: limits.backpressureLimit,
    closeOnBackpressureLimit: true,
    sendPings: true,
    idleTimeout: 120,
    open(ws) {
      ws.data.handlers = ws.data.onOpen(wrap(ws));
    },
    message(ws, message) {
      const data =
        typeof message === "string"
          ? message
          : new Uint8Array(message.buffer, message.byteOffset, message.byteLength);
      ws.data.handlers?.message(data);
    },
    close(ws) {
      ws.data.handlers?.closed();
    },
  };
}

/**
 * Turns `request` into a WebSocket on `server` (Bun's, the second argument of fetch); false when
 * it is not a WebSocket request or the server cannot (the route then answers 426).
 */
export function upgrade(
  server: unknown,
  request: Request,
  onOpen: (socket: OpenSocket) => SocketHandlers,
): boolean {
  const bun = server as { upgrade?: (req: Request, options: { data: SocketData }) => boolean } | undefined;
  if (typeof bun?.upgrade !== "function") return false;
  if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") return false;
  return bun.upgrade(request, { data: { onOpen } });
}

/** The peer's address as Bun saw it (for events), or "unknown". */
export function peerAddress(server: unknown, request: Request): string {
  const bun = server as { requestIP?: (req: Request) => { address: string } | null } | undefined;
  try {
    return bun?.requestIP?.(request)?.address ?? "unknown";
  } catch {
    return "unknown";
  }
}

function wrap(ws: ServerWebSocket<SocketData>): OpenSocket {
  return {
    send: (message) => {
      ws.send(message);
    },
    close: (code, reason) => ws.close(code, reason),
  };
}
