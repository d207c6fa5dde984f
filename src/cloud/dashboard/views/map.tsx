// The cluster map: the nodes and their links as an SVG picture (map-layout.ts places them), then
// every node's details in a table: phase, address, last seen, plan revisions, CPU and memory from
// its last usage report, levee version.
import {
  layoutMap,
  MAP_HEIGHT,
  MAP_WIDTH,
  type MapFlow,
  type MapInputNode,
  type MapLink,
} from "../map-layout.ts";
import type { DashboardNode } from "../snapshot.ts";
import { formatAgo, formatBytes, formatCores, phaseClass } from "./format.ts";

/** What the map says of a link: its ends, kind and (traffic links) rates. */
type LinkFacts = Pick<MapLink, "from" | "to" | "kind" | "perSecond" | "bytesPerSecond" | "errorsPerSecond">;

export function linkTitle(l: LinkFacts): string {
  if (l.kind === "sync") return `${l.from} ⇄ ${l.to}: sync (MQTT)`;
  if (l.kind === "relay") return `${l.from}: reachable through the relay on ${l.to}`;
  return `${l.from} → ${l.to}: ${rate(l.perSecond ?? 0)} mesh requests/s, ${formatBytes(l.bytesPerSecond ?? 0)}/s, ${rate(l.errorsPerSecond ?? 0)} errors/s, ${l.kind === "direct" ? "direct" : "through the relay"}`;
}

/** A traffic link's label: requests/s, bytes/s (both ways), errors/s when there are any. */
export function flowLabel(l: LinkFacts): string {
  const errors = l.errorsPerSecond ?? 0;
  return `${rate(l.perSecond ?? 0)}/s · ${formatBytes(l.bytesPerSecond ?? 0)}/s${errors > 0 ? ` · ${rate(errors)} err/s` : ""}${l.kind === "relayed" ? " (relay)" : ""}`;
}

const rate = (n: number): string => (n >= 10 ? n.toFixed(0) : n >= 1 ? n.toFixed(1) : n.toFixed(2));

export function ClusterMap(props: {
  nodes: DashboardNode[];
  relayLegs: (node: string) => number;
  flows: MapFlow[];
  now: number;
}) {
  const input: MapInputNode[] = props.nodes.map((n) => ({
    name: n.name,
    role: n.role,
    phase: n.phase,
    relayLegs: n.role === "cloud" ? 0 : props.relayLegs(n.name),
  }));
  const layout = layoutMap(input, props.flows);
  const byName = new Map(props.nodes.map((n) => [n.name, n]));
  const ready = props.nodes.filter((n) => n.phase === "Ready").length;
  return (
    <>
      <p class="summary">
        <strong data-testid="ready-count">{ready}</strong> of {props.nodes.length} nodes Ready
      </p>
      <svg
        class="map"
        viewBox={`0 0 ${MAP_WIDTH} ${MAP_HEIGHT}`}
        role="img"
        aria-label={`cluster map: ${props.nodes.length} nodes`}
      >
        {layout.links.map((l) => (
          <line
            class={`link ${l.kind} ${phaseClass(l.phase)}`}
            data-link={`${l.from}-${l.to}-${l.kind}`}
            x1={l.x1}
            y1={l.y1}
            x2={l.x2}
            y2={l.y2}
          >
            <title>{linkTitle(l)}</title>
          </line>
        ))}
        {layout.links
          .filter((l) => l.perSecond !== undefined)
          .map((l) => (
            <text
              class={`rate${(l.errorsPerSecond ?? 0) > 0 ? " errors" : ""}`}
              x={(l.x1 + l.x2) / 2}
              y={(l.y1 + l.y2) / 2 - 4}
              data-rate={`${l.from}-${l.to}`}
              data-link={`${l.from}-${l.to}-${l.kind}`}
              data-bytes={String(Math.round(l.bytesPerSecond ?? 0))}
              data-errors={String(l.errorsPerSecond ?? 0)}
            >
              {flowLabel(l)}
            </text>
          ))}
        {layout.nodes.map((n) => {
          const node = byName.get(n.name);
          return (
            <g class={`node ${n.role} ${phaseClass(n.phase)}`} data-node={n.name} data-phase={n.phase}>
              <circle cx={n.x} cy={n.y} r={n.role === "cloud" ? 34 : 24} />
              <text x={n.x} y={n.y + (n.role === "cloud" ? 52 : 40)} class="name">
                {n.name}
              </text>
              <text x={n.x} y={n.y + 5} class="phase">
                {n.phase}
              </text>
              <title>{`${n.name} (${n.role}): ${n.phase}${node?.usage ? `, CPU ${formatCores(node.usage.cpuCores)} of ${node.usage.cpus} cores` : ""}`}</title>
            </g>
          );
        })}
      </svg>
      <p class="legend">
        <span class="key sync" /> sync link (MQTT) <span class="key relay" /> relay legs open at the cloud
        (mesh traffic can reach the node through the cloud) <span class="key flow" /> mesh traffic
        (requests/s, bytes/s both ways, errors/s; last 10 s)
        {layout.hidden > 0 ? ` · ${layout.hidden} more edges in the table` : ""}
      </p>
      <div class="table-wrap">
        <table class="nodes">
          <thead>
            <tr>
              <th>Node</th>
              <th>Phase</th>
              <th>Address</th>
              <th>Last seen</th>
              <th>Plan applied / desired</th>
              <th>CPU</th>
              <th>Memory</th>
              <th>Version</th>
            </tr>
          </thead>
          <tbody>
            {props.nodes.map((n) => (
              <tr data-node={n.name}>
                <td>
                  {n.name} {n.role === "cloud" ? <span class="tag">cloud</span> : null}
                </td>
                <td>
                  <span class={`pill ${phaseClass(n.phase)}`} data-testid="node-phase">
                    {n.phase}
                  </span>
                  <small> {formatAgo(n.phaseSince, props.now)}</small>
                </td>
                <td>{n.addresses[0] ?? "—"}</td>
                <td>{formatAgo(n.lastSeen, props.now)}</td>
                <td class={n.plan.applied < n.plan.desired ? "lag" : ""}>
                  {n.plan.applied} / {n.plan.desired}
                </td>
                <td>{n.usage ? `${formatCores(n.usage.cpuCores)} of ${n.usage.cpus}` : "—"}</td>
                <td>
                  {n.usage
                    ? `${formatBytes(n.usage.memoryBytes)} of ${formatBytes(n.usage.memoryCapacityBytes)}`
                    : "—"}
                </td>
                <td>
                  {n.version} <small>{n.arch}</small>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
