// System labels of nodes: the labels under `levee.io/` are the cloud's to set, never a node's (at
// join) nor a user's (applying a Node). Today there is one, `levee.io/role`, which says whether a
// node is the cloud (the relay, and the target of `fallback: cloud`) or an edge. The role is stored
// apart from the labels (nodes.role, set by how the agent was started and joined) and shown as a
// label, so that nodeSelectors can match it and `get node -o yaml | apply` round-trips. A node that
// could claim `levee.io/role: cloud` would become every agent's relay.
import type { NodeRole } from "../mesh/contracts.ts";

export const SYSTEM_LABEL_PREFIX = "levee.io/";
export const ROLE_LABEL = `${SYSTEM_LABEL_PREFIX}role`;

/** The labels the cloud sets on a node of this role. */
function systemLabels(role: NodeRole): Record<string, string> {
  return { [ROLE_LABEL]: role };
}

/** What a node's labels look like to the API, the planner and the catalog: the user's plus the system's. */
export function nodeLabels(userLabels: Record<string, string>, role: NodeRole): Record<string, string> {
  return { ...withoutSystemLabels(userLabels), ...systemLabels(role) };
}

/** The labels without any under `levee.io/`. */
export function withoutSystemLabels(labels: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).filter(([key]) => !isSystemLabel(key)));
}

export function isSystemLabel(key: string): boolean {
  return key.startsWith(SYSTEM_LABEL_PREFIX);
}

/**
 * The system labels in `labels` that differ from what the cloud sets for `role` (key and why).
 * Equal values are no change (a Node read back and applied again); anything else is refused.
 */
export function systemLabelConflicts(
  labels: Record<string, string>,
  role: NodeRole,
): { key: string; message: string }[] {
  const system = systemLabels(role);
  return Object.entries(labels)
    .filter(([key, value]) => isSystemLabel(key) && system[key] !== value)
    .map(([key, value]) => ({
      key,
      message:
        key in system
          ? `"${key}" is set by the cloud (it is "${system[key]}" for this node), not by a manifest; remove it or leave it as it is`
          : `labels under "${SYSTEM_LABEL_PREFIX}" are set by the cloud, not by a manifest; "${key}: ${value}" cannot be set`,
    }));
}

/** The role stored for a node ('cloud' only for the cloud's own node). */
export function roleOf(stored: string): NodeRole {
  return stored === "cloud" ? "cloud" : "edge";
}
