// The parts of fetching artifacts from peers (--peer-fetch auto), made together for an edge node:
// the directory of peers (attached to the mesh's dialer when the mesh starts), the source that asks
// them before the cloud (for the artifact cache), and the server answering peers that ask this node
// (for the tunnel listener). Who can ask: only nodes of this cluster (the tunnel's mutual TLS with
// node certificates, revoked ones refused). What is served: verified blobs of the cache only.
import { mkdirSync } from "node:fs";
import type { Logger } from "../../runtime/log.ts";
import type { Store } from "../../store/store.ts";
import { artifactCacheDir } from "./artifact-cache.ts";
import { type ArtifactSource, nodeArtifactSource } from "./artifact-source.ts";
import type { BandwidthLimit } from "./bandwidth-limit.ts";
import { PeerDirectory } from "./peer-directory.ts";
import { PeerServer } from "./peer-server.ts";
import { type ByteSource, peerFirstSource } from "./peer-source.ts";

export interface PeerFetch {
  directory: PeerDirectory;
  source: ArtifactSource;
  server: PeerServer;
}

export interface PeerFetchOptions {
  store: Store;
  dataDir: string;
  log: Logger;
  bandwidth: BandwidthLimit;
  onBytes: (source: ByteSource, bytes: number) => void;
  onServed: (bytes: number) => void;
}

export function peerFetch(options: PeerFetchOptions): PeerFetch {
  const log = options.log.child({ component: "peer-fetch" });
  const directory = new PeerDirectory();
  const dir = artifactCacheDir(options.dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  return {
    directory,
    source: peerFirstSource({
      peers: directory,
      cloud: nodeArtifactSource(options.store, options.dataDir),
      onBytes: options.onBytes,
      onSkip: (node, sha256, reason) => log.debug("peer skipped for an artifact", { node, sha256, reason }),
    }),
    server: new PeerServer({ dir, bandwidth: options.bandwidth, log, onServed: options.onServed }),
  };
}
