// An ArtifactSource that asks peers on this node's network first and falls back to the cloud: a
// node fetching what a neighbour already has spares the (often slow, metered) uplink to the cloud.
// Peers are the nodes the mesh reaches directly, nearest first (peer-directory.ts); at most
// `maxPeers` are asked per attempt: one that answers not-found or busy or fails to connect is
// skipped (and asked again only after 30 s: that changes), and when none is left the cloud serves.
// A peer that sent bytes of an artifact is not asked for it again for 10 minutes, and once
// `maxPeers` peers sent bytes of it only the cloud is asked: whatever went wrong with a peer's
// transfer, the retry goes elsewhere. Resuming and verifying stay with download.ts: a retry after a
// cut transfer resumes from the partial file's end at the next peer or the cloud, and a peer's bytes
// that fail the sha256 make the retry go elsewhere (a lying peer costs one transfer, never the
// artifact). A peer announcing another size than the reference's is skipped before any byte.
import type { Duplex } from "../../mesh/contracts.ts";
import { ANSWER_MAX_BYTES, type ArtifactAnswer, parseAnswer } from "../../mesh/transport/artifact-answer.ts";
import { LineReader } from "../../mesh/transport/line-reader.ts";
import { describeError } from "../../runtime/errors.ts";
import type { ArtifactSource, SourceReply } from "./artifact-source.ts";

export const DEFAULT_MAX_PEERS = 3;
/** How long a connected peer may take to answer (it answers before reading its disk). */
const ANSWER_TIMEOUT_MS = 3_000;
/** A peer that sent bytes of an artifact is not asked for it again for this long (they may be bad). */
const SERVED_PAUSE_MS = 10 * 60_000;
/** A peer skipped (not-found, busy, unreachable) is asked again after this long: that changes. */
const SKIPPED_PAUSE_MS = 30_000;
/** Artifacts whose asked peers are remembered (the oldest is forgotten first). */
const MEMORY_MAX_ARTIFACTS = 256;

/** The peers worth asking and how to ask one (the mesh's dialer; peer-directory.ts). */
export interface ArtifactPeers {
  /** Peer node names, nearest first. */
  candidates(): string[];
  /** A tunnel stream asking `node` for the artifact from `from` on (a short connect budget). */
  open(node: string, sha256: string, from: number, signal: AbortSignal): Promise<Duplex>;
}

export type ByteSource = "peer" | "cloud";

export interface PeerFirstOptions {
  peers: ArtifactPeers;
  cloud: ArtifactSource;
  maxPeers?: number;
  /** Bytes received, by where they came from (levee_artifact_source_bytes_total). */
  onBytes?: ((source: ByteSource, bytes: number) => void) | undefined;
  /** A peer skipped, and why (for the log). */
  onSkip?: ((node: string, sha256: string, reason: string) => void) | undefined;
  now?: () => number;
}

/** What a source remembers of one artifact: until when each peer is not asked again, how many served. */
interface Asked {
  until: Map<string, number>;
  served: number;
  at: number;
}

export function peerFirstSource(options: PeerFirstOptions): ArtifactSource {
  const maxPeers = options.maxPeers ?? DEFAULT_MAX_PEERS;
  const now = options.now ?? Date.now;
  const memory = new Map<string, Asked>();
  const askedFor = (sha256: string): Asked => {
    const entry = memory.get(sha256);
    if (entry && now() - entry.at < SERVED_PAUSE_MS) return entry;
    memory.delete(sha256);
    if (memory.size >= MEMORY_MAX_ARTIFACTS) memory.delete(memory.keys().next().value as string);
    const fresh = { until: new Map<string, number>(), served: 0, at: now() };
    memory.set(sha256, fresh);
    return fresh;
  };
  const counted = (source: ByteSource, reply: SourceReply): SourceReply =>
    reply.kind === "body" && options.onBytes
      ? { ...reply, body: countBytes(reply.body, source, options.onBytes) }
      : reply;
  return {
    get description() {
      return `a peer on this node's network, else ${options.cloud.description}`;
    },
    async open(sha256, from, signal, expectedSize) {
      const asked = askedFor(sha256);
      let attempts = 0;
      for (const node of options.peers.candidates()) {
        if (attempts >= maxPeers || asked.served >= maxPeers) break;
        if ((asked.until.get(node) ?? 0) > now()) continue;
        attempts++;
        signal.throwIfAborted();
        const reply = await askPeer(options.peers, node, sha256, from, signal, expectedSize).catch(
          (error: unknown) => {
            signal.throwIfAborted();
            return `${describeError(error)}`;
          },
        );
        if (typeof reply !== "string") {
          // Whatever becomes of these bytes (complete, cut, wrong), the retry goes elsewhere.
          asked.served++;
          asked.at = now();
          asked.until.set(node, now() + SERVED_PAUSE_MS);
          return counted("peer", reply);
        }
        asked.until.set(node, now() + SKIPPED_PAUSE_MS);
        options.onSkip?.(node, sha256, reply);
      }
      return counted("cloud", await options.cloud.open(sha256, from, signal, expectedSize));
    },
  };
}

/** One peer's reply, or why it was skipped. */
async function askPeer(
  peers: ArtifactPeers,
  node: string,
  sha256: string,
  from: number,
  signal: AbortSignal,
  expectedSize: number | undefined,
): Promise<SourceReply | string> {
  const duplex = await peers.open(node, sha256, from, signal);
  const { answer, rest } = await readAnswer(duplex, signal);
  const skip = (reason: string) => {
    duplex.destroy();
    return reason;
  };
  if (answer.kind === "not-found") return skip("it has no verified copy");
  if (answer.kind === "busy") return skip("it is busy serving other peers");
  if (expectedSize !== undefined && answer.size !== expectedSize)
    return skip(`it announced ${answer.size} bytes, the reference says ${expectedSize}`);
  if (answer.kind === "unsatisfiable") {
    duplex.destroy();
    return { kind: "unsatisfiable", total: answer.size };
  }
  return { kind: "body", start: from, total: answer.size, body: duplexBody(duplex, rest, signal) };
}

/** Reads the answer line (bounded, within ANSWER_TIMEOUT_MS); the bytes after it are the body's first. */
export function readAnswer(
  duplex: Duplex,
  signal: AbortSignal,
  timeoutMs = ANSWER_TIMEOUT_MS,
): Promise<{ answer: ArtifactAnswer; rest: Uint8Array }> {
  return new Promise((resolve, reject) => {
    const reader = new LineReader(ANSWER_MAX_BYTES);
    const fail = (reason: string | Error) => {
      cleanup();
      duplex.destroy();
      reject(typeof reason === "string" ? new Error(reason) : reason);
    };
    const timer = setTimeout(() => fail(`no answer within ${timeoutMs} ms`), timeoutMs);
    const onAbort = () => fail(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
    signal.addEventListener("abort", onAbort, { once: true });
    const cleanup = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    };
    duplex.onData((chunk) => {
      const read = reader.push(chunk);
      if (read.kind === "more") return;
      if (read.kind === "too-long") return fail("answer line too long");
      const parsed = parseAnswer(read.line);
      if (!parsed.ok) return fail(parsed.reason);
      cleanup();
      duplex.pause();
      resolve({ answer: parsed.answer, rest: read.rest.slice() });
    });
    duplex.onEnd(() => fail("the stream ended before the answer"));
    duplex.onClose((error) => fail(error ?? new Error("closed before the answer")));
  });
}

/** The rest of the stream as a body, with back-pressure (the duplex is paused while it is full). */
function duplexBody(duplex: Duplex, first: Uint8Array, signal: AbortSignal): ReadableStream<Uint8Array> {
  let done = false;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const finish = (error?: Error) => {
          if (done) return;
          done = true;
          signal.removeEventListener("abort", onAbort);
          if (error) controller.error(error);
          else controller.close();
          duplex.destroy();
        };
        const onAbort = () => finish(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
        signal.addEventListener("abort", onAbort, { once: true });
        if (first.byteLength > 0) controller.enqueue(first);
        duplex.onData((chunk) => {
          if (done) return;
          controller.enqueue(chunk);
          if ((controller.desiredSize ?? 1) <= 0) duplex.pause();
        });
        duplex.onEnd(() => finish());
        duplex.onClose((error) => finish(error));
      },
      pull() {
        if (!done) duplex.resume();
      },
      cancel() {
        done = true;
        duplex.destroy();
      },
    },
    { highWaterMark: 8 },
  );
}

/** The same stream, counting its bytes as they are read. */
function countBytes(
  body: ReadableStream<Uint8Array>,
  source: ByteSource,
  onBytes: (source: ByteSource, bytes: number) => void,
): ReadableStream<Uint8Array> {
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        onBytes(source, chunk.byteLength);
        controller.enqueue(chunk);
      },
    }),
  );
}
