// Recent events for `describe`: GET /api/v1/events is a server-sent event stream that first sends
// its backlog and then stays open. We read until the stream goes quiet (the backlog is written at
// once) or a short deadline passes, then hang up: describe never blocks on the live stream.
import type { ApiClient } from "./client.ts";
import type { EventView } from "./types.ts";

export interface ReadEventsOptions {
  /** Give up on the stream after this long in total. */
  deadlineMs?: number;
  /** After the first bytes, stop once nothing arrived for this long. */
  quietMs?: number;
}

/** Events that match `keep`, oldest first, at most `limit`; undefined when the stream failed. */
export async function recentEvents(
  client: ApiClient,
  keep: (e: EventView) => boolean,
  limit = 20,
  options: ReadEventsOptions = {},
): Promise<EventView[] | undefined> {
  const { deadlineMs = 2000, quietMs = 300 } = options;
  const abort = new AbortController();
  const deadline = setTimeout(() => abort.abort(), deadlineMs);
  let quiet: ReturnType<typeof setTimeout> | undefined;
  const events: EventView[] = [];
  const parser = new SseParser((type, data) => {
    if (type !== "event") return;
    try {
      const event = JSON.parse(data) as EventView;
      if (keep(event)) events.push(event);
    } catch {
      // a malformed entry is skipped: describe shows what it can
    }
  });
  try {
    const res = await client.stream("/events", abort.signal);
    if (!res.body) return events;
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      clearTimeout(quiet);
      quiet = setTimeout(() => abort.abort(), quietMs);
      const { done, value } = await reader.read();
      if (done) break;
      parser.push(decoder.decode(value, { stream: true }));
    }
  } catch {
    if (!abort.signal.aborted) return undefined;
  } finally {
    clearTimeout(deadline);
    clearTimeout(quiet);
    abort.abort();
  }
  return events.slice(-limit);
}

/** A minimal text/event-stream parser: calls `onMessage(event, data)` per complete message. */
export class SseParser {
  private buffer = "";

  constructor(private readonly onMessage: (event: string, data: string) => void) {}

  push(chunk: string): void {
    this.buffer += chunk.replace(/\r\n?/g, "\n");
    for (let end = this.buffer.indexOf("\n\n"); end >= 0; end = this.buffer.indexOf("\n\n")) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      let event = "message";
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") event = value;
        else if (field === "data") data.push(value);
      }
      if (data.length > 0) this.onMessage(event, data.join("\n"));
    }
  }
}
