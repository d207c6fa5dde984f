// Where the cluster map (views/map.tsx) draws each node and which links it draws: the cloud in the
// middle, the edges around it on an ellipse (the cloud first if there are several). Each edge has
// its sync link to the cloud (MQTT: plans down, status up), in the colour of its phase, and, when it
// holds relay legs open at the cloud, a relay link: the path mesh traffic takes to it when no direct
// path works. Mesh traffic between two nodes, when the nodes report it, is a link of its own with
// its rate, marked direct or relayed. Pure: nodes in, coordinates out.
export const MAP_WIDTH = 800;
export const MAP_HEIGHT = 520;
/** Most edges drawn; the rest are listed under the picture. */
export const MAP_MAX_EDGES = 48;

export interface MapInputNode {
  name: string;
  role: string;
  phase: string;
  /** Relay legs the node holds open at the cloud (0: none, or not known). */
  relayLegs: number;
}

export interface MapNode {
  name: string;
  role: string;
  phase: string;
  x: number;
  y: number;
}

/** Mesh traffic between two nodes (from the nodes' traffic reports: traffic-ring.ts). */
export interface MapFlow {
  from: string;
  to: string;
  via: "direct" | "relay";
  perSecond: number;
  errorsPerSecond: number;
  /** Both directions. */
  bytesPerSecond: number;
}

export interface MapLink {
  from: string;
  to: string;
  /** sync, relay: an edge's links to the cloud; direct, relayed: mesh traffic between two nodes. */
  kind: "sync" | "relay" | "direct" | "relayed";
  /** Mesh traffic: requests (connections, for TCP) per second, errors per second, bytes per second (both ways). */
  perSecond?: number;
  errorsPerSecond?: number;
  bytesPerSecond?: number;
  /** The phase of the edge end: what colour the link is drawn in. */
  phase: string;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export interface MapLayout {
  nodes: MapNode[];
  links: MapLink[];
  /** Edges not drawn (beyond MAP_MAX_EDGES). */
  hidden: number;
}

export function layoutMap(input: readonly MapInputNode[], flows: readonly MapFlow[] = []): MapLayout {
  const clouds = input.filter((n) => n.role === "cloud");
  const edges = input.filter((n) => n.role !== "cloud");
  const shown = edges.slice(0, MAP_MAX_EDGES);
  const cx = MAP_WIDTH / 2;
  const cy = MAP_HEIGHT / 2;
  const nodes: MapNode[] = clouds.map((n, i) => ({
    name: n.name,
    role: n.role,
    phase: n.phase,
    x: cx + (i - (clouds.length - 1) / 2) * 120,
    y: cy,
  }));
  const rx = MAP_WIDTH / 2 - 90;
  const ry = MAP_HEIGHT / 2 - 60;
  shown.forEach((n, i) => {
    // From the top, clockwise.
    const angle = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(shown.length, 1);
    nodes.push({
      name: n.name,
      role: n.role,
      phase: n.phase,
      x: Math.round(cx + rx * Math.cos(angle)),
      y: Math.round(cy + ry * Math.sin(angle)),
    });
  });
  const hub = nodes[0];
  const links: MapLink[] = [];
  if (hub && hub.role === "cloud") {
    for (const n of nodes) {
      if (n.role === "cloud") continue;
      const legs = input.find((i) => i.name === n.name)?.relayLegs ?? 0;
      links.push({ from: n.name, to: hub.name, kind: "sync", phase: n.phase, ...ends(n, hub, 0) });
      if (legs > 0)
        links.push({ from: n.name, to: hub.name, kind: "relay", phase: n.phase, ...ends(n, hub, 7) });
    }
  }
  const at = new Map(nodes.map((n) => [n.name, n]));
  for (const f of flows) {
    const a = at.get(f.from);
    const b = at.get(f.to);
    if (!a || !b || a === b) continue;
    const kind = f.via === "direct" ? "direct" : "relayed";
    links.push({
      from: f.from,
      to: f.to,
      kind,
      phase: "Ready",
      perSecond: f.perSecond,
      errorsPerSecond: f.errorsPerSecond,
      bytesPerSecond: f.bytesPerSecond,
      ...ends(a, b, -7),
    });
  }
  return { nodes, links, hidden: edges.length - shown.length };
}

/** The line from a to b, moved sideways by `offset` (two links between the same nodes side by side). */
function ends(a: MapNode, b: MapNode, offset: number) {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const length = Math.hypot(dx, dy) || 1;
  const ox = (-dy / length) * offset;
  const oy = (dx / length) * offset;
  return {
    x1: Math.round(a.x + ox),
    y1: Math.round(a.y + oy),
    x2: Math.round(b.x + ox),
    y2: Math.round(b.y + oy),
  };
}
