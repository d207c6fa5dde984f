// Prometheus' HTTP service discovery (http_sd) for the fleet: GET /api/v1/metrics/targets answers
// one target group for the cloud itself (its /metrics) and one per node, every one of them the
// cloud's API address, the node's with __metrics_path__ /api/v1/nodes/<node>/metrics: the cloud
// asks the node over MQTT (log-streams.ts), so nodes behind NAT are scraped as well, and one
// scrape config with one credential covers everything (README "Metrics").
// Every target's address is the same, so each is told apart by its labels: instance and node are
// the node's name, component says "cloud" (the cloud's own metrics: API, sync, broker) or "agent"
// (a node agent's: workers, mesh, its link); node_phase is the node's phase when listed (not
// "phase": the workers' own `phase` label would be renamed exported_phase). Pure: the caller reads the nodes and says where
// Prometheus reaches the cloud.

/** One http_sd target group. */
export interface TargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

export interface ScrapedNode {
  name: string;
  role: string;
  phase: string;
}

/** The path the cloud serves a node's metrics on. */
export function nodeMetricsPath(node: string): string {
  return `/api/v1/nodes/${encodeURIComponent(node)}/metrics`;
}

/**
 * The target groups: `address` is host:port of the cloud API as the caller reached it, `scheme`
 * http or https, `cloud` the cloud's own name (its process metrics at /metrics).
 */
export function scrapeTargets(
  address: string,
  scheme: "http" | "https",
  cloud: string,
  nodes: readonly ScrapedNode[],
): TargetGroup[] {
  const groups: TargetGroup[] = [
    {
      targets: [address],
      labels: {
        __scheme__: scheme,
        __metrics_path__: "/metrics",
        instance: cloud,
        node: cloud,
        role: "cloud",
        component: "cloud",
      },
    },
  ];
  for (const node of nodes)
    groups.push({
      targets: [address],
      labels: {
        __scheme__: scheme,
        __metrics_path__: nodeMetricsPath(node.name),
        instance: node.name,
        node: node.name,
        role: node.role,
        node_phase: node.phase,
        component: "agent",
      },
    });
  return groups;
}
