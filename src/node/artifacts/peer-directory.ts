// Which peers a node asks for an artifact, and the way to ask them: the mesh's tunnel dialer,
// attached when the mesh starts (the artifact cache is made before it; until then, and with
// --peer-fetch off, there are no peers and the cloud serves). A peer is an edge node of the
// catalog, Ready, other than this one, whose direct path is not known to be down: nodes this node
// reached directly before come first, nearest first (the dialer's handshake-time estimate), then
// those not tried yet. Asking goes only over the direct path, never the relay: a peer behind the
// relay is no nearer than the cloud.
import type { CatalogNode, Duplex } from "../../mesh/contracts.ts";
import type { TunnelDialer } from "../../mesh/transport/tunnel-dialer.ts";
import type { ArtifactPeers } from "./peer-source.ts";

/** What a peer's choice reads of the dialer's path knowledge. */
export interface PathKnowledge {
  directDown(node: string): boolean;
  distance(node: string): number | undefined;
}

/** The peers to ask, best first (pure). */
export function rankPeers(self: string, nodes: readonly CatalogNode[], paths: PathKnowledge): string[] {
  const eligible = nodes.filter(
    (n) => n.name !== self && n.role === "edge" && n.state === "Ready" && !paths.directDown(n.name),
  );
  const known = eligible
    .map((n) => ({ name: n.name, distance: paths.distance(n.name) }))
    .filter((n): n is { name: string; distance: number } => n.distance !== undefined)
    .sort((a, b) => a.distance - b.distance || a.name.localeCompare(b.name))
    .map((n) => n.name);
  const unknown = eligible
    .filter((n) => paths.distance(n.name) === undefined)
    .map((n) => n.name)
    .sort();
  return [...known, ...unknown];
}

export interface MeshLink {
  self: string;
  nodes: () => readonly CatalogNode[];
  dialer: Pick<TunnelDialer, "openArtifact" | "paths">;
}

export class PeerDirectory implements ArtifactPeers {
  private link: MeshLink | undefined;

  /** Called by the mesh once its dialer exists. */
  attach(link: MeshLink): void {
    this.link = link;
  }

  candidates(): string[] {
    const link = this.link;
    return link ? rankPeers(link.self, link.nodes(), link.dialer.paths) : [];
  }

  open(node: string, sha256: string, from: number, signal: AbortSignal): Promise<Duplex> {
    if (!this.link) return Promise.reject(new Error("the mesh has not started"));
    return this.link.dialer.openArtifact(node, sha256, from, signal);
  }
}
