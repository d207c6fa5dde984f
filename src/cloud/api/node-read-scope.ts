// What a node may read from the cloud over HTTP: only the content its own plan references (today the
// artifacts its workers mount). A node's credentials are on the node, so they are as safe as the
// node; without this scope one compromised camera box could download every model of the fleet.
// The set is read from the node's current plan (plans table) and kept until the plan's hash changes.
import type { NodePlan } from "../../manifest/plan.ts";
import type { Store } from "../../store/store.ts";

export class NodeReadScope {
  private readonly cached = new Map<string, { hash: string; artifacts: ReadonlySet<string> }>();
  private readonly hashOf;
  private readonly planOf;

  constructor(store: Store) {
    this.hashOf = store.db.query<{ hash: string }, [string]>("SELECT hash FROM plans WHERE node = ?");
    this.planOf = store.db.query<{ hash: string; plan: string }, [string]>(
      "SELECT hash, plan FROM plans WHERE node = ?",
    );
  }

  /** Whether the node's current plan mounts the artifact. */
  mayReadArtifact(node: string, sha256: string): boolean {
    return this.artifactsOf(node).has(sha256);
  }

  private artifactsOf(node: string): ReadonlySet<string> {
    const hash = this.hashOf.get(node)?.hash;
    if (hash === undefined) return new Set();
    const known = this.cached.get(node);
    if (known?.hash === hash) return known.artifacts;
    const row = this.planOf.get(node);
    if (!row) return new Set();
    const artifacts = artifactsOfPlan(JSON.parse(row.plan) as NodePlan);
    this.cached.set(node, { hash: row.hash, artifacts });
    return artifacts;
  }
}

/** The sha256 of every artifact a plan's workers mount. */
export function artifactsOfPlan(plan: NodePlan): Set<string> {
  const out = new Set<string>();
  for (const service of plan.services ?? []) {
    for (const worker of service.workers ?? []) {
      const mounts = (worker.template as { mounts?: { artifact?: { sha256?: unknown } }[] }).mounts ?? [];
      for (const mount of mounts) {
        if (typeof mount.artifact?.sha256 === "string") out.add(mount.artifact.sha256);
      }
    }
  }
  return out;
}
