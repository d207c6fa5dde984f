// Namespaces: objects in two namespaces are two objects. The store, the planner, the plans, the
// workers and the mesh know an object by one string, its key: its name in the namespace
// `default`, `<name>.<namespace>` in any other (object names and namespaces are DNS labels, so the
// key is one DNS subdomain, still one file name, and never ambiguous). Cluster-wide kinds (Node,
// ImageMap, Namespace) have no namespace: their key is their name. Pure.

export const DEFAULT_NAMESPACE = "default";

/** Kinds that live outside namespaces. */
const CLUSTER_SCOPED: ReadonlySet<string> = new Set(["Node", "ImageMap", "Namespace", "ClusterRoleBinding"]);

export function isNamespaced(kind: string): boolean {
  return !CLUSTER_SCOPED.has(kind);
}

/** The key of a namespaced object (`name` in `default`, `name.namespace` elsewhere). */
export function qualifiedName(namespace: string | undefined, name: string): string {
  return namespace === undefined || namespace === "" || namespace === DEFAULT_NAMESPACE
    ? name
    : `${name}.${namespace}`;
}

/** The key of any object: cluster-wide kinds by their name. */
export function objectKey(kind: string, namespace: string | undefined, name: string): string {
  return isNamespaced(kind) ? qualifiedName(namespace, name) : name;
}

/** A key split again: `processor.dayu` → name processor in namespace dayu. */
export function splitKey(key: string): { name: string; namespace: string } {
  const dot = key.indexOf(".");
  return dot < 0
    ? { name: key, namespace: DEFAULT_NAMESPACE }
    : { name: key.slice(0, dot), namespace: key.slice(dot + 1) };
}

/** The key of a parsed object (a native one has no namespace unless it names one). */
export function keyOf(object: { kind: string; metadata: { name: string; namespace?: string } }): string {
  return objectKey(object.kind, object.metadata.namespace, object.metadata.name);
}

/** The namespace of a parsed object ("" for cluster-wide kinds). */
export function namespaceOf(object: { kind: string; metadata: { namespace?: string } }): string {
  return isNamespaced(object.kind) ? (object.metadata.namespace ?? DEFAULT_NAMESPACE) : "";
}

/** How people read a key: `dayu/processor`, or `processor` in the default namespace. */
export function describeKey(key: string): string {
  const { name, namespace } = splitKey(key);
  return namespace === DEFAULT_NAMESPACE ? name : `${namespace}/${name}`;
}

/** An object named by kind and key, as answers show it: its name, and its namespace outside `default`. */
export function refOf(kind: string, key: string): { kind: string; name: string; namespace?: string } {
  if (!isNamespaced(kind)) return { kind, name: key };
  const { name, namespace } = splitKey(key);
  return namespace === DEFAULT_NAMESPACE ? { kind, name } : { kind, name, namespace };
}
