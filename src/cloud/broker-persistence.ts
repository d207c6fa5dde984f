// The embedded broker's persistence: aedes-persistence's in-memory one, except for retained
// messages. Its retained lookup tests every retained topic against each filter of a SUBSCRIBE;
// every node retains a presence and subscribes to its own down topic, so a fleet connecting cost
// O(N²) (BENCHMARKS.md, "Control plane"). Here a filter without wildcards is one Map lookup;
// a filter with + or # (the cloud's levee/v1/node/+/presence) still scans, matched by
// topicMatches (MQTT 3.1.1, 4.7).
import { Readable } from "node:stream";
import MemoryPersistence from "aedes-persistence/asyncPersistence.js";

/** What a retained packet needs here (aedes hands over an aedes-packet). */
interface RetainedPacket {
  topic: string;
  payload: Buffer | string;
}

/** Whether an MQTT topic filter has a wildcard level. */
export function hasWildcard(filter: string): boolean {
  return filter.includes("+") || filter.includes("#");
}

/**
 * Whether `topic` matches the subscription `filter`: "+" is exactly one level, "#" (last) is the
 * parent level and everything below it; a filter starting with a wildcard does not match topics
 * starting with "$" (MQTT 3.1.1, 4.7.2).
 */
export function topicMatches(filter: string, topic: string): boolean {
  if (!hasWildcard(filter)) return filter === topic;
  if (topic.startsWith("$") && (filter.startsWith("+") || filter.startsWith("#"))) return false;
  const f = filter.split("/");
  const t = topic.split("/");
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    if (level === "#") return i === f.length - 1;
    if (i >= t.length) return false;
    if (level !== "+" && level !== t[i]) return false;
  }
  return f.length === t.length;
}

export class RetainedMapPersistence extends MemoryPersistence {
  /** topic → the retained packet (a copy, as the base class keeps). */
  readonly #retained = new Map<string, RetainedPacket>();

  /** How many retained messages are held (tests, metrics). */
  get retainedCount(): number {
    return this.#retained.size;
  }

  override async storeRetained(pkt: Parameters<MemoryPersistence["storeRetained"]>[0]): Promise<void> {
    const packet = { ...pkt } as RetainedPacket;
    if (packet.payload.length === 0) this.#retained.delete(packet.topic);
    else this.#retained.set(packet.topic, packet);
  }

  override createRetainedStream(pattern: string): Readable {
    return Readable.from(this.#matching([pattern]));
  }

  override createRetainedStreamCombi(patterns: string[]): Readable {
    return Readable.from(this.#matching(patterns));
  }

  *#matching(patterns: readonly string[]): Generator<RetainedPacket> {
    for (const pattern of patterns) {
      if (!hasWildcard(pattern)) {
        const packet = this.#retained.get(pattern);
        if (packet) yield packet;
        continue;
      }
      for (const [topic, packet] of this.#retained) if (topicMatches(pattern, topic)) yield packet;
    }
  }
}
