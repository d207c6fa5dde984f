// The dialer's leg through the relay (when a node is not reachable directly): connect to the relay,
// answer its challenge with a signed dial request, and once it has spliced this leg to the target's,
// run the end-to-end TLS client over it. Apart from tunnel-dialer.ts (which chooses direct or relayed)
// because it is a protocol of its own, the client side of relay-protocol.ts.
import type { Duplex } from "../contracts.ts";
import { codedError } from "../proxy/dial-errors.ts";
import { LineReader, readLines } from "./line-reader.ts";
import type { NodeTls } from "./node-tls.ts";
import type { Preamble } from "./preamble.ts";
import type { RelayAddress } from "./relay-offers.ts";
import {
  helloLine,
  parseAnswer,
  parseChallenge,
  RELAY_LINE_MAX_BYTES,
  requestLine,
} from "./relay-protocol.ts";
import type { RevocationCheck } from "./revocation.ts";
import type { Phase, PhasedSocket } from "./socket-phases.ts";
import { ClientTlsPhase, connectTlsOver } from "./tls-stream.ts";
import { connectPhase } from "./tunnel-connect.ts";

/** A relay dial leg: hello → challenge → signed dial → ok → TLS client over the spliced leg. */
class RelayDialPhase implements Phase {
  private readonly reader = new LineReader(RELAY_LINE_MAX_BYTES);
  private state: "challenge" | "answer" = "challenge";

  constructor(
    private readonly self: string,
    private readonly credentials: NodeTls,
    readonly tls: ClientTlsPhase,
  ) {}

  open(socket: PhasedSocket): void {
    this.tls.bind(socket);
    socket.write(helloLine());
  }

  data(socket: PhasedSocket, chunk: Buffer): void {
    readLines(
      this.reader,
      chunk,
      (line, rest) => this.line(socket, line, rest),
      () => this.fail("relay line too long"),
    );
  }

  /** One line of the handshake; whether to read on. */
  private line(socket: PhasedSocket, line: string, rest: Uint8Array): boolean {
    if (this.state === "challenge") {
      const challenge = parseChallenge(line);
      if (!challenge) {
        this.fail("unexpected relay greeting");
        return false;
      }
      const request = { verb: "dial" as const, node: this.self, target: this.tls.target };
      socket.write(requestLine(request, this.credentials, challenge));
      this.state = "answer";
      return true;
    }
    const answer = parseAnswer(line);
    if (!answer.ok) this.fail(`the relay refused: ${answer.reason}`, "EHOSTUNREACH");
    else if (rest.byteLength > 0) this.fail("the relay sent data before the TLS session");
    else connectTlsOver(socket, this.credentials, this.tls);
    return false;
  }

  close(_socket: PhasedSocket, error?: Error): void {
    this.tls.abandon(
      codedError(
        `${this.tls.where}: relay connection closed${error ? `: ${error.message}` : ""}`,
        "ECONNRESET",
      ),
    );
  }

  failed(error: Error): void {
    this.tls.abandon(error);
  }

  private fail(message: string, code = "ECONNRESET"): void {
    this.tls.abandon(codedError(`${this.tls.where}: ${message}`, code));
  }
}

/** Dials `target` through the relay at `relay`: the TLS stream once established, within `ms`. */
export function dialViaRelay(
  relay: RelayAddress,
  self: string,
  credentials: NodeTls,
  target: string,
  preamble: Preamble,
  ms: number,
  signal?: AbortSignal,
  revoked?: RevocationCheck,
): Promise<Duplex | null> {
  const tls = new ClientTlsPhase(
    target,
    preamble,
    `node ${target} via the relay at ${relay.host}:${relay.port}`,
    revoked,
  );
  const phase = new RelayDialPhase(self, credentials, tls);
  return connectPhase(
    relay.host,
    relay.port,
    undefined,
    phase,
    (socket) => phase.open(socket),
    tls,
    ms,
    signal,
  );
}
