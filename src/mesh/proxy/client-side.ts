// What an exchange (exchange.ts) and a tunnel (tunnel.ts) use of the client connection they serve
// (client-connection.ts implements it), and what the connection asks of them (ClientHandler): the
// socket, its parser, the link to the upstream and the two senders, pausing the client, the deadline, the proxy's own
// answers, and handing the connection on when an exchange is over. Interfaces, so that the
// per-request objects depend on the connection's contract rather than on its class.
import type { Duplex } from "../contracts.ts";
import type { ConnectionInfo, ProxyContext } from "./http-types.ts";
import type { RequestReader } from "./request-reader.ts";
import type { RequestSender } from "./request-sender.ts";
import type { ResponseSender } from "./response-sender.ts";
import type { UpstreamLink } from "./upstream-link.ts";

/** Why the client is paused (bits): the upstream cannot take more; too much is read ahead. */
export const P_UPSTREAM = 1;
export const P_READAHEAD = 2;

/** Who the client connection's events go to: the current request's exchange, or a tunnel. */
export interface ClientHandler {
  clientData(chunk: Uint8Array): void;
  clientDrain(): void;
  clientEnd(): void;
  clientClose(error?: Error): void;
  /** The connection's deadline passed. */
  expire(): void;
  /** The connection closes gracefully without it: no more I/O on its behalf. */
  stop(): void;
}

export interface ClientSide {
  readonly ctx: ProxyContext;
  readonly client: Duplex;
  readonly info: ConnectionInfo;
  /** The client's parser: its read buffer holds the request body bytes not forwarded yet. */
  readonly reader: RequestReader;
  readonly link: UpstreamLink;
  readonly requestSender: RequestSender;
  readonly responseSender: ResponseSender;
  /** The client sent FIN. */
  readonly clientEnded: boolean;
  /** When the proxy's timer calls expire() (0: never). */
  deadline: number;
  pauseClient(bit: number): void;
  resumeClient(bits: number): void;
  /** Pauses the client while too much is read ahead, resumes it once that was consumed. */
  checkReadAhead(): void;
  /** Reads the requests waiting in the buffer (after an asynchronous routing decision). */
  drive(): void;
  /** The exchange is over: the next request, or close. */
  exchangeOver(close: boolean): void;
  /** The client's events go to this handler from now on (a tunnel). */
  handOver(handler: ClientHandler): void;
  closeGracefully(): void;
  badRequest(error: unknown): void;
}
