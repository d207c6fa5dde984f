// Sends the current response to a client connection's client (one per client connection, one
// response at a time): interim heads as received (to HTTP/1.1 clients), the final head either as the
// upstream sent it (when nothing needs to change: no copy) or rewritten (hop-by-hop fields, the
// connection's fate, X-Levee-Upstream) with the first body bytes in the same write when they are
// few, then the body as it comes. Writes go through the link (upstream-link.ts), which pauses the
// upstream while the client does not drain.
import { forwardResponseHead, type ResponseRewrite, responseHeadUnchanged } from "./http-head-writer.ts";
import type { ResponseHead } from "./http-response-parser.ts";
import { COALESCE } from "./request-sender.ts";
import type { ResponseReader } from "./response-reader.ts";
import type { UpstreamLink } from "./upstream-link.ts";

export class ResponseSender {
  /** How the current response is rewritten (reused). */
  private readonly rewrite: ResponseRewrite = { close: false, clientMinor: 1, upgrade: false };

  constructor(private readonly link: UpstreamLink) {}

  /** An interim response (100 Continue, 103 Early Hints), passed on as received to HTTP/1.1 clients. */
  interim(bytes: Buffer, clientMinor: 0 | 1): void {
    if (clientMinor === 1) this.link.toClient(bytes);
  }

  /**
   * The final head, as the reader holds it (with the body bytes that came with it). `close`: the
   * client connection closes after this response.
   */
  head(
    head: ResponseHead,
    reader: ResponseReader,
    close: boolean,
    clientMinor: 0 | 1,
    upstreamLabel: string | undefined,
  ): void {
    const rewrite = this.rewrite;
    rewrite.close = close;
    rewrite.clientMinor = clientMinor;
    rewrite.upgrade = false;
    rewrite.upstreamLabel = upstreamLabel;
    const link = this.link;
    const { buf, start } = reader.buffer;
    const { headEnd, bodyEnd: stop } = reader;
    if (responseHeadUnchanged(head, rewrite))
      // the upstream's bytes as they are (usually the whole chunk it sent; no view made then:
      // Buffer.subarray is not cheap in a per-request path)
      link.toClient(start === 0 && stop === buf.byteLength ? buf : buf.subarray(start, stop));
    else {
      const body = stop > headEnd ? buf.subarray(headEnd, stop) : undefined;
      const coalesce = body !== undefined && body.byteLength <= COALESCE;
      link.toClient(forwardResponseHead(head, rewrite, coalesce ? body : undefined) as Buffer);
      if (body !== undefined && !coalesce) link.toClient(body);
    }
  }

  /** The head of a 101 Switching Protocols as the client gets it (`bytes`: as received). */
  switchHead(head: ResponseHead, bytes: Buffer, upstreamLabel: string | undefined): Buffer {
    const rewrite = { close: false, clientMinor: 1 as const, upgrade: true, upstreamLabel };
    return forwardResponseHead(head, rewrite) ?? bytes;
  }

  body(chunk: Buffer): void {
    this.link.toClient(chunk);
  }
}
