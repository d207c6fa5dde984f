// levee_sync_bytes_total{direction,kind} and levee_sync_packets_total{direction,kind} from a link's
// SyncBytes (sync-bytes.ts), read at scrape time: the same two series on an agent's /metrics and
// on the cloud's, so that what a node sends and what the cloud receives from the fleet compare.
import type { Registry } from "prom-client";
import { scraped } from "../runtime/prom-export.ts";
import type { SyncBytes } from "./sync-bytes.ts";

export function registerSyncBytes(registry: Registry, bytes: SyncBytes, whose: string): void {
  scraped(
    registry,
    "counter",
    "levee_sync_bytes_total",
    `MQTT bytes of ${whose} (packets as encoded: headers, topic, payload), by direction and kind`,
    ["direction", "kind"],
    () => bytes.byteSeries(),
  );
  scraped(
    registry,
    "counter",
    "levee_sync_packets_total",
    `MQTT packets of ${whose}, by direction and kind`,
    ["direction", "kind"],
    () => bytes.packetSeries(),
  );
}
