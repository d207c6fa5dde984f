// Where a node's artifact cache gets the bytes: the cloud API over HTTP with the node's own
// credentials (HTTP Basic: its MQTT username and password), or, on the cloud's own node, the
// cloud's artifact directory on the same disk. Both answer "the bytes from `from` on", so resuming
// and verifying are the same for both. The cloud's node copies (no hard link): a worker that can
// write to its mounted file (root ignores 0444) must not be able to change the cloud's copy.
import { statSync } from "node:fs";
import { join } from "node:path";
import { describeError, PermanentError, RecoverableError } from "../../runtime/errors.ts";
import type { Store } from "../../store/store.ts";
import { storedIdentity } from "../identity.ts";
import { interpretReply, rangeHeader } from "./fetch-plan.ts";

export type SourceReply =
  | { kind: "body"; start: number; total: number | undefined; body: ReadableStream<Uint8Array> }
  | { kind: "unsatisfiable"; total: number | undefined }
  | { kind: "not-found" };

export interface ArtifactSource {
  /** For messages: "the cloud at http://10.0.0.1:7400". */
  readonly description: string;
  /**
   * The bytes of an artifact from `from` on; `expectedSize` is the reference's size when it has one.
   * Throws a RecoverableError (cloud unreachable, 5xx, a cut connection) or a PermanentError
   * (unknown artifact, refused, wrong size).
   */
  open(sha256: string, from: number, signal: AbortSignal, expectedSize?: number): Promise<SourceReply>;
}

export interface HttpSourceOptions {
  /** The cloud API's base URL, e.g. http://10.0.0.1:7400 */
  url: string;
  username: string;
  password: string;
}

export function httpArtifactSource(options: HttpSourceOptions): ArtifactSource {
  const base = options.url.replace(/\/+$/, "");
  const authorization = `Basic ${Buffer.from(`${options.username}:${options.password}`).toString("base64")}`;
  const description = `the cloud at ${base}`;
  return {
    description,
    async open(sha256, from, signal) {
      const headers: Record<string, string> = { authorization, "accept-encoding": "identity" };
      const range = rangeHeader(from);
      if (range) headers.range = range;
      let res: Response;
      try {
        res = await fetch(`${base}/api/v1/artifacts/${sha256}`, { headers, signal });
      } catch (err) {
        if (signal.aborted) throw err;
        throw new RecoverableError(`cannot reach ${description}: ${describeError(err)}`);
      }
      const reply = interpretReply(
        res.status,
        {
          contentRange: res.headers.get("content-range") ?? undefined,
          contentLength: res.headers.get("content-length") ?? undefined,
        },
        from,
      );
      if (reply.kind !== "body") await res.body?.cancel().catch(() => {});
      switch (reply.kind) {
        case "body":
          if (!res.body) throw new RecoverableError(`${description} answered without a body`);
          return { ...reply, body: res.body };
        case "unsatisfiable":
        case "not-found":
          return reply;
        case "refused":
          // 403: the credentials are good, but this node's current plan mounts no such artifact
          // (a node reads only what its plan mounts; the plan may have moved on).
          throw new PermanentError(
            reply.status === 403
              ? `${description} refused: this node's current plan does not mount artifact ${sha256}`
              : `${description} refused this node's credentials (HTTP ${reply.status}); was the node deleted? ` +
                  "It must join again",
          );
        case "transient":
          throw new RecoverableError(`${description}: ${reply.reason}`);
        case "permanent":
          throw new PermanentError(`${description}: ${reply.reason}`);
      }
    },
  };
}

/** The cloud's own artifact directory (<data-dir>/artifacts), for the cloud's own node. */
export function localArtifactSource(dir: string): ArtifactSource {
  return {
    description: `the cloud's artifact directory ${dir}`,
    async open(sha256, from) {
      const path = join(dir, sha256);
      let size: number;
      try {
        size = statSync(path).size;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return { kind: "not-found" };
        throw new RecoverableError(`cannot read ${path}: ${describeError(err)}`);
      }
      if (from > 0 && from >= size) return { kind: "unsatisfiable", total: size };
      return { kind: "body", start: from, total: size, body: Bun.file(path).slice(from).stream() };
    },
  };
}

/**
 * The source of this node: its own data dir's artifacts on the cloud (meta mode = cloud), else
 * the cloud at meta "cloud-url" with the identity stored at join. Read at every fetch: an edge
 * that has not joined yet gets a RecoverableError until it has.
 */
export function nodeArtifactSource(store: Store, dataDir: string): ArtifactSource {
  if (store.getMeta("mode") === "cloud") return localArtifactSource(join(dataDir, "artifacts"));
  const current = (): ArtifactSource => {
    const url = store.getMeta("cloud-url");
    const identity = storedIdentity(store);
    if (!url || !identity)
      throw new RecoverableError("this node has not joined the cloud yet: no cloud URL or credentials");
    return httpArtifactSource({ url, username: identity.username, password: identity.password });
  };
  return {
    get description() {
      const url = store.getMeta("cloud-url");
      return url ? `the cloud at ${url}` : "the cloud (not joined yet)";
    },
    open: (sha256, from, signal, expectedSize) => current().open(sha256, from, signal, expectedSize),
  };
}
