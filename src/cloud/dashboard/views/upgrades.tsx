// The agent upgrade page: the running (or paused) rollout, else the newest, with each node's
// progress (levee ctl upgrade status shows the same). Nodes restart during an upgrade, so the
// page follows the nodes' changes.
import type { Rollout, RolloutNode } from "../../upgrade/upgrade-store.ts";

export function UpgradeView(props: { rollout: Rollout | undefined; nodes: RolloutNode[] }) {
  const r = props.rollout;
  if (!r) return <p class="empty">No agent upgrade yet: levee ctl upgrade --binary TARGET=PATH.</p>;
  return (
    <section class="upgrade" data-rollout={r.id}>
      <p>
        Rollout {r.id} to <strong>{r.version}</strong>: <span class={`pill ${r.state}`}>{r.state}</span>
        {r.reason ? ` (${r.reason})` : ""}
      </p>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th>Node</th>
              <th>State</th>
              <th>From</th>
              <th>To</th>
              <th>Reason</th>
            </tr>
          </thead>
          <tbody>
            {props.nodes.map((n) => (
              <tr data-node={n.node}>
                <td>{n.node}</td>
                <td>
                  <span class={`pill ${n.state}`} data-testid="upgrade-state">
                    {n.state}
                  </span>
                </td>
                <td>{n.from}</td>
                <td>{r.version}</td>
                <td class="message">{n.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
