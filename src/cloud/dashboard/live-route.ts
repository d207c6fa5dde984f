// GET /ui/data/live: the live stream a dashboard page listens to (server-sent events). Each
// `change` event names the topics that changed (live-feed.ts); a `ping` every 15 s keeps proxies
// and the server's idle timeout from closing a quiet stream.
import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import type { LiveFeed, Topic } from "./live-feed.ts";

export function liveStream(c: Context, feed: LiveFeed): Response {
  return streamSSE(c, async (stream) => {
    const queue: Topic[][] = [];
    let wake: (() => void) | undefined;
    const stop = feed.watch((topics) => {
      queue.push(topics);
      wake?.();
    });
    stream.onAbort(() => {
      stop();
      wake?.();
    });
    await stream.writeSSE({ event: "hello", data: "{}" });
    while (!stream.aborted) {
      const next = queue.splice(0);
      if (next.length > 0) {
        const topics = [...new Set(next.flat())];
        await stream.writeSSE({ event: "change", data: JSON.stringify({ topics }) });
        continue;
      }
      await Promise.race([new Promise<void>((r) => (wake = r)), stream.sleep(15_000)]);
      if (queue.length === 0 && !stream.aborted) await stream.writeSSE({ event: "ping", data: "{}" });
    }
    stop();
  });
}
