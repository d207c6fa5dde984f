// `?watch=true` on a list: a stream of `{"type": "ADDED"|"MODIFIED"|"DELETED", "object": ...}`
// lines, one per change, as Kubernetes sends them. After every change the backend reports, the list
// is read again and compared with what the client has seen (by name and resourceVersion). A watch
// that starts from the resourceVersion of the list the client just read gets only what changed
// since; from any other (or none) it first gets every object as ADDED, which is what a client that
// lost its place needs. It ends after timeoutSeconds (default 30 minutes, as the API server's
// --min-request-timeout does), or when the client goes.
import type { KubeBackend } from "./backend.ts";
import type { KubeObject } from "./objects/meta.ts";

export interface WatchOptions {
  /** The objects the client watches, filtered as its list would be. */
  read(): KubeObject[];
  resourceVersion: string | undefined;
  timeoutSeconds: number | undefined;
  signal: AbortSignal;
  /** Called once when the watch ends, however it ends. */
  onEnd?: () => void;
}

const DEFAULT_TIMEOUT_S = 1800;
const MAX_TIMEOUT_S = 3600;

const keyOf = (o: KubeObject) => `${o.metadata.namespace ?? ""}/${o.metadata.name}`;

export function watchStream(backend: KubeBackend, options: WatchOptions): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let seen = new Map<string, KubeObject>();
  let stop = () => {};
  return new ReadableStream<Uint8Array>({
    start(controller) {
      let closed = false;
      const send = (type: string, object: KubeObject) => {
        if (!closed) controller.enqueue(encoder.encode(`${JSON.stringify({ type, object })}\n`));
      };
      const fromList =
        options.resourceVersion !== undefined && options.resourceVersion === String(backend.revision());
      const initial = options.read();
      for (const o of initial) {
        seen.set(keyOf(o), o);
        if (!fromList) send("ADDED", o);
      }
      // Bun sends the response head with the first bytes of the body: without this blank line (which
      // the clients' JSON stream decoders skip) a watch with nothing to send yet would leave the
      // client waiting for the response itself, and one with a response timeout would give up.
      if (fromList || initial.length === 0) controller.enqueue(encoder.encode("\n"));
      const update = () => {
        if (closed) return;
        const next = new Map(options.read().map((o) => [keyOf(o), o] as const));
        for (const [key, o] of next) {
          const before = seen.get(key);
          if (!before) send("ADDED", o);
          else if (before.metadata.resourceVersion !== o.metadata.resourceVersion) send("MODIFIED", o);
        }
        for (const [key, o] of seen) if (!next.has(key)) send("DELETED", o);
        seen = next;
      };
      const unsubscribe = backend.onChange(update);
      const seconds = Math.min(options.timeoutSeconds ?? DEFAULT_TIMEOUT_S, MAX_TIMEOUT_S);
      const timer = setTimeout(() => finish(), seconds * 1000);
      const finish = () => {
        if (closed) return;
        closed = true;
        clearTimeout(timer);
        unsubscribe();
        options.onEnd?.();
        try {
          controller.close();
        } catch {
          // already closed by the client
        }
      };
      stop = finish;
      options.signal.addEventListener("abort", finish, { once: true });
    },
    cancel() {
      stop();
    },
  });
}
