// The Node kind as users apply it: only metadata. A node comes into being when it joins (the API
// refuses to apply a Node that has not joined); what a user sets is its labels (and annotations),
// which nodeSelectors match. Everything else about a node (addresses, phase, last seen, agent
// version, plan revisions) is its status, written only by the system and ignored on apply.
import type { z } from "zod";
import { resourceSchema } from "./meta.ts";

/** A Node's name is a node name: a DNS subdomain (`edge-1`, `cloud.kubeedge`). */
export const nodeSchema = resourceSchema("Node", {}, "node");

export type NodeResource = z.output<typeof nodeSchema>;

export type NodePhase = "Ready" | "Disconnected" | "Lost";

/** A node's status as the API reports it (`GET /api/v1/nodes/NAME`); never part of a manifest. */
export interface NodeStatus {
  phase: NodePhase;
  /** ISO 8601 time of the last message from the node, null if it never connected. */
  lastSeen: string | null;
  addresses: string[];
  agentVersion: string;
  arch: string;
  plan: { desiredRevision: number; appliedRevision: number };
}
