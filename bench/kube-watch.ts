// A Kubernetes watch stream read as it arrives, for bench/kube-api.ts: every event (one JSON line)
// kept with the moment it was read (performance.now()), and a way to wait for the first event after
// a mark that matches a test.

// biome-ignore lint/suspicious/noExplicitAny: Kubernetes JSON, read by path
type Any = any;

export interface WatchEvent {
  type: string;
  object: Any;
  /** performance.now() when its line was read. */
  at: number;
}

export interface Watch {
  /** How many events so far (a mark for next()). */
  length(): number;
  /** The first event from index `from` on that matches, waiting up to timeoutMs for it. */
  next(from: number, match: (e: WatchEvent) => boolean, timeoutMs: number): Promise<WatchEvent>;
  close(): void;
}

export async function openWatch(url: string, init: RequestInit): Promise<Watch> {
  const abort = new AbortController();
  const res = await fetch(url, { ...init, signal: abort.signal });
  if (!res.ok || !res.body) throw new Error(`watch ${url}: ${res.status} ${await res.text()}`);
  const events: WatchEvent[] = [];
  let wake: (() => void) | undefined;
  let ended: Error | undefined;
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  void (async () => {
    let buffered = "";
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        const at = performance.now();
        buffered += decoder.decode(value, { stream: true });
        let nl = buffered.indexOf("\n");
        while (nl >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (line.trim()) events.push({ ...(JSON.parse(line) as { type: string; object: Any }), at });
          nl = buffered.indexOf("\n");
        }
        wake?.();
      }
      ended = new Error(`watch ${url} ended`);
    } catch (err) {
      ended = err instanceof Error ? err : new Error(String(err));
    }
    wake?.();
  })();
  return {
    length: () => events.length,
    async next(from, match, timeoutMs) {
      const deadline = performance.now() + timeoutMs;
      for (let i = from; ; ) {
        for (; i < events.length; i++) if (match(events[i] as WatchEvent)) return events[i] as WatchEvent;
        if (ended) throw ended;
        const left = deadline - performance.now();
        if (left <= 0) throw new Error(`watch ${url}: no matching event within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    },
    close: () => abort.abort(),
  };
}
