// A tunnel stream that counts its bytes, both ways, into the counters of the peer and path it came
// from (service-traffic.ts, PeerLinkCounts): what a dashboard shows as a link's bytes/s. Two
// additions per chunk, no copy; everything else is the stream's own.
import type { Duplex } from "../contracts.ts";
import type { PeerLinkCounts } from "../service-traffic.ts";

export function countedStream(stream: Duplex, counts: PeerLinkCounts): Duplex {
  return {
    write(chunk) {
      counts.bytesOut += chunk.byteLength;
      return stream.write(chunk);
    },
    end: () => stream.end(),
    destroy: (reason) => stream.destroy(reason),
    pause: () => stream.pause(),
    resume: () => stream.resume(),
    onData(handler) {
      stream.onData((chunk) => {
        counts.bytesIn += chunk.byteLength;
        handler(chunk);
      });
    },
    onDrain: (handler) => stream.onDrain(handler),
    onEnd: (handler) => stream.onEnd(handler),
    onClose: (handler) => stream.onClose(handler),
    ...(stream.keepAlive ? { keepAlive: (ms: number) => stream.keepAlive?.(ms) } : {}),
    get remoteAddress() {
      return stream.remoteAddress;
    },
  };
}
