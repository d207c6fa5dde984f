// The cloud's Prometheus metrics (GET /metrics on the cloud API; README "Metrics"). Everything
// that is state is read when Prometheus scrapes, from SQLite and the link's memory, so the
// cloud does no work per event for it; only API requests (api-metrics.ts) and completed plan
// rollouts (apply-acks.ts) are observed as they happen.
//   levee_nodes{phase}                         nodes by phase (Ready, Disconnected, Lost)
//   levee_workers{phase}                       workers by the phase their node last reported
//   levee_workers_ready                        of those, ready
//   levee_node_plan_lag_revisions{node}        desired − applied plan revision of each node
//   levee_apply_ack_duration_seconds           plans written → every node they changed acknowledged
//   levee_mqtt_messages_received_total         messages the cloud's sync link received
//   levee_mqtt_messages_sent_total             messages it published
//   levee_sync_dropped_total{reason}           received messages dropped (docs/PROTOCOL.md)
//   levee_sync_bytes_total{direction,kind}     MQTT bytes of the cloud's own session (sync-bytes.ts)
//   levee_sync_packets_total{direction,kind}   its MQTT packets
//   levee_sync_plans_sent_total{form}          plans sent: plain, deflated, delta, delta-deflated
//   levee_sync_node_bytes_total{node,direction} bytes of each node's connections (broker-bytes.ts)
//   levee_sync_heartbeat_seconds               the heartbeat interval for this fleet size
//   levee_sync_heartbeat_bytes_per_node_day    what heartbeats cost one node a day at that interval
//   levee_mqtt_refused_total{reason}           clients, publishes, subscriptions the broker refused
//   levee_mqtt_clients                         clients connected to the embedded broker
//   levee_log_streams{state}                   log streams waiting for their node, or flowing
//   levee_http_requests_total, levee_http_request_duration_seconds   (api-metrics.ts)
//   levee_build_info{version,commit}           1
//   process_*, nodejs_*                        prom-client's default metrics
import { Histogram, Registry } from "prom-client";
import type { NodePhase } from "../../protocol/heartbeat.ts";
import type { SyncBytes } from "../../protocol/sync-bytes.ts";
import { registerSyncBytes } from "../../protocol/sync-bytes-metrics.ts";
import type { Counter } from "../../runtime/counters.ts";
import { collectProcessMetrics, exportCounter, scraped, totalCounter } from "../../runtime/prom-export.ts";
import { versionInfo } from "../../runtime/version.ts";
import type { Store } from "../../store/store.ts";
import type { NodeWireBytes } from "../broker-bytes.ts";
import { ApiMetrics } from "./api-metrics.ts";
import { ApplyAcks } from "./apply-acks.ts";
import { heartbeatBytesPerDay } from "./heartbeat-cost.ts";

const NODE_PHASES: readonly NodePhase[] = ["Ready", "Disconnected", "Lost"];
const ACK_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900];

export interface CloudMetricsSource {
  store: Store;
  /** The sync link: its drop counter and message counts. */
  link: {
    dropped: Counter;
    bytes: SyncBytes;
    plansSent?: Counter | undefined;
    heartbeatSeconds(): number;
    stats(): { received: number; sent: number };
  };
  /** The embedded broker (absent with --mqtt-url: the external broker has its own metrics). */
  broker?: { refused: Counter; clients(): number; nodeBytes: NodeWireBytes } | undefined;
  logStreams?: { counts(): { pending: number; flowing: number } } | undefined;
}

export class CloudMetrics {
  readonly registry = new Registry();
  readonly api: ApiMetrics;
  readonly acks: ApplyAcks;

  constructor(source: CloudMetricsSource) {
    const { registry } = this;
    const { store, link, broker, logStreams } = source;
    collectProcessMetrics(registry);
    this.api = new ApiMetrics(registry);
    const ackDuration = new Histogram({
      name: "levee_apply_ack_duration_seconds",
      help: "Time from the cloud writing new plans until every node they changed acknowledged them",
      buckets: ACK_BUCKETS,
      registers: [registry],
    });
    this.acks = new ApplyAcks((seconds) => ackDuration.observe(seconds));

    scraped(registry, "gauge", "levee_nodes", "Nodes by phase", ["phase"], () => nodesByPhase(store));
    scraped(
      registry,
      "gauge",
      "levee_workers",
      "Workers by the phase their node last reported",
      ["phase"],
      () =>
        store.db
          .query<{ phase: string; n: number }, []>(
            "SELECT phase, count(*) AS n FROM worker_status GROUP BY phase",
          )
          .all()
          .map((r) => [{ phase: r.phase }, r.n] as const),
    );
    scraped(registry, "gauge", "levee_workers_ready", "Workers their node last reported ready", [], () => {
      const row = store.db
        .query<{ n: number }, []>("SELECT count(*) AS n FROM worker_status WHERE ready = 1")
        .get();
      return [[{}, row?.n ?? 0]];
    });
    scraped(
      registry,
      "gauge",
      "levee_node_plan_lag_revisions",
      "Plan revisions a node is behind: desired minus acknowledged",
      ["node"],
      () =>
        store.db
          .query<{ node: string; lag: number }, []>(
            "SELECT node, revision - applied_revision AS lag FROM plans",
          )
          .all()
          .map((r) => [{ node: r.node }, Math.max(0, r.lag)] as const),
    );
    totalCounter(
      registry,
      "levee_mqtt_messages_received_total",
      "MQTT messages the cloud's sync link received (dropped ones included)",
      () => link.stats().received,
    );
    totalCounter(
      registry,
      "levee_mqtt_messages_sent_total",
      "MQTT messages the cloud's sync link published",
      () => link.stats().sent,
    );
    exportCounter(registry, link.dropped, "Messages the cloud received and dropped, by reason");
    registerSyncBytes(registry, link.bytes, "the cloud's own session with the broker");
    if (link.plansSent)
      exportCounter(
        registry,
        link.plansSent,
        "Plans sent to nodes, by form: plain, deflated, delta, delta-deflated",
      );
    scraped(
      registry,
      "gauge",
      "levee_sync_heartbeat_seconds",
      "The heartbeat interval nodes are told for the current fleet size",
      [],
      () => [[{}, link.heartbeatSeconds()]],
    );
    scraped(
      registry,
      "gauge",
      "levee_sync_heartbeat_bytes_per_node_day",
      "MQTT bytes one node's heartbeats cost a day at the current interval (measured mean size, with its puback)",
      [],
      () => {
        const perDay = heartbeatBytesPerDay(link.bytes, link.heartbeatSeconds());
        return perDay === undefined ? [] : [[{}, perDay]];
      },
    );
    if (broker) {
      exportCounter(registry, broker.refused, "Connections, publishes and subscriptions the broker refused");
      scraped(
        registry,
        "gauge",
        "levee_mqtt_clients",
        "Clients connected to the embedded MQTT broker",
        [],
        () => [[{}, broker.clients()]],
      );
      scraped(
        registry,
        "counter",
        "levee_sync_node_bytes_total",
        "Bytes of each node's MQTT connections through the embedded broker: up (from the node) and down",
        ["node", "direction"],
        () => broker.nodeBytes.series(),
      );
    }
    if (logStreams)
      scraped(
        registry,
        "gauge",
        "levee_log_streams",
        "Log streams waiting for their node or flowing",
        ["state"],
        () => {
          const { pending, flowing } = logStreams.counts();
          return [
            [{ state: "pending" }, pending],
            [{ state: "flowing" }, flowing],
          ];
        },
      );
    const { version, commit } = versionInfo();
    scraped(
      registry,
      "gauge",
      "levee_build_info",
      "The levee build serving (always 1)",
      ["version", "commit"],
      () => [[{ version, commit }, 1]],
    );
  }

  /** The text exposition format for GET /metrics. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/** Every phase, 0 included, so a phase that empties reads 0 rather than vanishing. */
function nodesByPhase(store: Store): [{ phase: string }, number][] {
  const counts = new Map<string, number>(NODE_PHASES.map((p) => [p, 0]));
  for (const r of store.db
    .query<{ phase: string; n: number }, []>("SELECT phase, count(*) AS n FROM nodes GROUP BY phase")
    .all())
    counts.set(r.phase, r.n);
  return [...counts].map(([phase, n]) => [{ phase }, n]);
}
