// `levee edge`: the local manager of one device. This part starts the node runtime; joining the
// cloud, syncing the plan and supervising workers are added by the control-plane and
// local-manager parts.
import type { EdgeConfig } from "../config/agent-config.ts";
import { type LocalNode, startLocalNode } from "./local-node.ts";

export async function startEdge(config: EdgeConfig): Promise<LocalNode> {
  const node = await startLocalNode(config);
  node.store.setMeta("cloud-url", config.cloud);
  node.log.info("edge agent ready", { cloud: config.cloud });
  return node;
}
