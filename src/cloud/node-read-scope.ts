// What a node may read from the cloud over HTTP: only the content its own current plan references,
// the artifacts its workers mount (and the container images its plan names, stored as artifacts)
// and the Config files it carries by reference. A node's
// credentials are on the node, so they are as safe as the node; without this scope one compromised
// camera box could download every model and every Config of the fleet. Both sets are taken from the
// node's current plan (plans table; the workers it runs and those it stages) in one pass and kept until the plan's hash
// changes. Besides, the levee binaries of an upgrade rollout that runs (or is paused) with the node in it.
import type { NodePlan } from "../manifest/plan.ts";
import type { Store } from "../store/store.ts";

/** A file of a Config, by the Config's name and the file's. */
export interface ConfigFileAt {
  config: string;
  file: string;
}

interface Scope {
  hash: string;
  artifacts: ReadonlySet<string>;
  /** The plan's Config files by their sha256. */
  configFiles: ReadonlyMap<string, readonly ConfigFileAt[]>;
}

const EMPTY: Omit<Scope, "hash"> = { artifacts: new Set(), configFiles: new Map() };

export class NodeReadScope {
  private readonly cached = new Map<string, Scope>();
  private readonly hashOf;
  private readonly planOf;
  private readonly upgradeBinary;

  constructor(store: Store) {
    this.hashOf = store.db.query<{ hash: string }, [string]>("SELECT hash FROM plans WHERE node = ?");
    this.planOf = store.db.query<{ hash: string; plan: string }, [string]>(
      "SELECT hash, plan FROM plans WHERE node = ?",
    );
    this.upgradeBinary = store.db.query<{ one: number }, [string, string]>(
      `SELECT 1 AS one FROM upgrade_rollouts r JOIN upgrade_nodes n ON n.rollout = r.id
        WHERE r.state IN ('running', 'paused') AND n.node = ?
          AND EXISTS (SELECT 1 FROM json_each(r.binaries) b WHERE json_extract(b.value, '$.sha256') = ?)`,
    );
  }

  /** Whether the node's current plan mounts the artifact (or names it as a container image), or it is
   * the node's upgrade binary. */
  mayReadArtifact(node: string, sha256: string): boolean {
    return this.scopeOf(node).artifacts.has(sha256) || this.upgradeBinary.get(node, sha256) !== null;
  }

  /** The Config files of the node's current plan whose content has this sha256 (none: empty). */
  configFilesWith(node: string, sha256: string): readonly ConfigFileAt[] {
    return this.scopeOf(node).configFiles.get(sha256) ?? [];
  }

  private scopeOf(node: string): Omit<Scope, "hash"> {
    const hash = this.hashOf.get(node)?.hash;
    if (hash === undefined) return EMPTY;
    const known = this.cached.get(node);
    if (known?.hash === hash) return known;
    const row = this.planOf.get(node);
    if (!row) return EMPTY;
    const scope = { hash: row.hash, ...scopeOfPlan(JSON.parse(row.plan) as Partial<NodePlan>) };
    this.cached.set(node, scope);
    return scope;
  }
}

/** The sha256 of every artifact a plan's workers mount, and of every Config file it references. */
function scopeOfPlan(plan: Partial<NodePlan>): Omit<Scope, "hash"> {
  const artifacts = new Set<string>();
  for (const service of plan.services ?? []) {
    // A staged generation's workers too: the node fetches their artifacts before it runs them.
    for (const worker of [...(service.workers ?? []), ...(service.staged?.workers ?? [])]) {
      const mounts = (worker.template as { mounts?: { artifact?: { sha256?: unknown } }[] }).mounts ?? [];
      for (const mount of mounts) {
        if (typeof mount.artifact?.sha256 === "string") artifacts.add(mount.artifact.sha256);
      }
    }
  }
  for (const image of Object.values(plan.images ?? {}))
    if (typeof image?.sha256 === "string") artifacts.add(image.sha256);
  const configFiles = new Map<string, ConfigFileAt[]>();
  for (const [config, files] of Object.entries(plan.configFiles ?? {})) {
    for (const [file, ref] of Object.entries(files)) {
      const at = configFiles.get(ref.sha256);
      if (at) at.push({ config, file });
      else configFiles.set(ref.sha256, [{ config, file }]);
    }
  }
  return { artifacts, configFiles };
}
