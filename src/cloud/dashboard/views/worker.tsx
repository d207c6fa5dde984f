// A worker's page: its status (live region), its service's and its node's events, and its log,
// followed live (the client script reads /ui/data/logs/... as a stream, outside the live region
// so that status updates do not interrupt it).
import type { LeveeEvent } from "../../control-plane.ts";
import type { DashboardWorker } from "../snapshot.ts";
import { EventList } from "./events.tsx";
import { WorkerTable } from "./services.tsx";

export function logHref(w: { service: string; node: string; index: number }): string {
  const query = new URLSearchParams({ node: w.node, worker: String(w.index), tail: "200", follow: "1" });
  return `/ui/data/logs/${encodeURIComponent(w.service)}?${query}`;
}

export function WorkerStatus(props: { worker: DashboardWorker | undefined; events: LeveeEvent[] }) {
  return (
    <>
      {props.worker ? (
        <WorkerTable workers={[props.worker]} />
      ) : (
        <p class="empty">No such worker in any plan now.</p>
      )}
      <h2>Events of its service and node</h2>
      <EventList events={props.events} />
    </>
  );
}

export function WorkerLog(props: { service: string; node: string; index: number }) {
  return (
    <section class="log">
      <h2>
        Log <small id="log-state">connecting</small>
      </h2>
      <pre id="log" data-src={logHref(props)} aria-live="polite"></pre>
    </section>
  );
}
