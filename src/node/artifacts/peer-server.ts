// Serves this node's artifact cache to the other nodes of its cluster that ask through the mesh
// tunnel (an `artifact` stream: the tunnel has verified the asking node's certificate and that it
// is not revoked). Only complete, verified blobs are served: files under their final sha256 name,
// which the cache renames there only after the hash matched (a `.partial` is never a sha256 name).
// Requests that came through the relay are answered not-found (the bytes would cross the cloud's
// link twice). The answer line (artifact-answer.ts) comes first, then the bytes from the requested offset.
// At most `maxUploads` transfers run at once (the rest are answered busy: the asking node tries
// another peer or the cloud), and what is sent waits for the node's bandwidth cap, the one its
// downloads share, so that serving peers does not starve the node's own link.
import { lstatSync } from "node:fs";
import { join } from "node:path";
import type { Duplex } from "../../mesh/contracts.ts";
import { type ArtifactAnswer, formatAnswer } from "../../mesh/transport/artifact-answer.ts";
import type { ArtifactRequest } from "../../mesh/transport/tls-stream.ts";
import { describeError } from "../../runtime/errors.ts";
import type { Logger } from "../../runtime/log.ts";
import type { BandwidthLimit } from "./bandwidth-limit.ts";

export const DEFAULT_MAX_UPLOADS = 2;

export interface PeerServerOptions {
  /** The artifact cache's directory (ArtifactCache.dir). */
  dir: string;
  /** The node's bandwidth cap; absent: unlimited. */
  bandwidth?: BandwidthLimit | undefined;
  /** Transfers at once; default DEFAULT_MAX_UPLOADS. */
  maxUploads?: number;
  log: Logger;
  /** After each transfer: the bytes sent. */
  onServed?: ((bytes: number) => void) | undefined;
}

type Request = Pick<ArtifactRequest, "sha256" | "from" | "peer" | "via"> & { duplex: Duplex };

export class PeerServer {
  private active = 0;
  private readonly maxUploads: number;

  constructor(private readonly options: PeerServerOptions) {
    this.maxUploads = options.maxUploads ?? DEFAULT_MAX_UPLOADS;
  }

  get uploads(): number {
    return this.active;
  }

  /** Answers one request and sends the bytes; never throws (a broken transfer is logged). */
  async serve(request: Request): Promise<void> {
    const { duplex } = request;
    const size = this.completeSize(request.sha256);
    const answer = this.answerFor(request, size);
    duplex.write(Buffer.from(formatAnswer(answer)));
    if (answer.kind !== "ok") {
      duplex.end();
      return;
    }
    this.active++;
    // What was written, also when the transfer breaks off half-way (logged and counted as served).
    const progress = { sent: 0 };
    try {
      await this.send(request, progress);
      duplex.end();
    } catch (error) {
      duplex.destroy();
      this.options.log.info("artifact transfer to a peer ended early", {
        peer: request.peer,
        sha256: request.sha256,
        sent: progress.sent,
        error: describeError(error),
      });
    } finally {
      this.active--;
      this.options.onServed?.(progress.sent);
    }
  }

  private answerFor(request: Request, size: number | undefined): ArtifactAnswer {
    // Through the relay the bytes would cross the cloud's link twice: the asker takes the cloud's copy.
    if (size === undefined || request.via === "relay") return { kind: "not-found" };
    if (request.from > 0 && request.from >= size) return { kind: "unsatisfiable", size };
    if (this.active >= this.maxUploads) return { kind: "busy" };
    return { kind: "ok", size };
  }

  /** The size of the verified blob, if this cache holds one (a regular file, not a link). */
  private completeSize(sha256: string): number | undefined {
    try {
      const stat = lstatSync(join(this.options.dir, sha256));
      return stat.isFile() ? stat.size : undefined;
    } catch {
      return undefined;
    }
  }

  /** Writes the bytes from the offset on, under the cap and the socket's back-pressure. */
  private async send(request: Request, progress: { sent: number }): Promise<void> {
    const { duplex } = request;
    const closed = new AbortController();
    let drained: (() => void) | undefined;
    duplex.onDrain(() => drained?.());
    duplex.onClose((error) => {
      closed.abort(error ?? new Error("the peer closed the transfer"));
      drained?.();
    });
    const file = Bun.file(join(this.options.dir, request.sha256)).slice(request.from);
    for await (const chunk of file.stream()) {
      closed.signal.throwIfAborted();
      await this.options.bandwidth?.take(chunk.byteLength, closed.signal);
      if (!duplex.write(chunk)) {
        await new Promise<void>((resolve) => {
          drained = resolve;
        });
        drained = undefined;
      }
      closed.signal.throwIfAborted();
      progress.sent += chunk.byteLength;
    }
  }
}
