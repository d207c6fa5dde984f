// The cloud's event stream (GET /api/v1/events, server-sent events) read by end-to-end tests:
// the backlog first, then live, until the event a test waits for shows up.
import type { Cluster } from "./cluster.ts";

/** Reads the event stream (backlog first) until `match` shows up; returns the events seen. */
export async function eventsUntil(
  c: Cluster,
  match: (e: Record<string, string>) => boolean,
  timeoutMs = 10_000,
) {
  const res = await c.cloud.api("/api/v1/events?since=0", { signal: AbortSignal.timeout(timeoutMs) });
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const seen: Record<string, string>[] = [];
  let text = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      let end = text.indexOf("\n\n");
      while (end >= 0) {
        const data = text
          .slice(0, end)
          .split("\n")
          .find((l) => l.startsWith("data:"));
        text = text.slice(end + 2);
        end = text.indexOf("\n\n");
        if (!data) continue;
        const event = JSON.parse(data.slice(5)) as Record<string, string>;
        if (!event.kind) continue; // ping
        seen.push(event);
        if (match(event)) return seen;
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  throw new Error(`event not seen; got ${JSON.stringify(seen)}`);
}
