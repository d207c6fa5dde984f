// The services: each one with its workers per node (phase, ready, restarts, message, port; a link
// to the worker's page), then the Dayu objects and the services each one made.
import type { DashboardDayuObject, DashboardService, DashboardWorker } from "../snapshot.ts";
import { phaseClass } from "./format.ts";

export function workerHref(w: { service: string; node: string; index: number }): string {
  return `/ui/workers/${encodeURIComponent(w.service)}/${encodeURIComponent(w.node)}/${w.index}`;
}

export function WorkerRows(props: { workers: DashboardWorker[] }) {
  return (
    <>
      {props.workers.map((w) => (
        <tr data-worker={`${w.service}/${w.node}/${w.index}`}>
          <td>
            <a href={workerHref(w)}>
              {w.node} #{w.index}
            </a>
          </td>
          <td>
            <span class={`pill ${phaseClass(w.phase, w.ready)}`} data-testid="worker-phase">
              {w.phase}
            </span>
          </td>
          <td>{w.ready ? "yes" : "no"}</td>
          <td data-testid="restarts">{w.restarts}</td>
          <td>{w.port ?? "—"}</td>
          <td class="message">{w.message}</td>
        </tr>
      ))}
    </>
  );
}

export function WorkerTable(props: { workers: DashboardWorker[] }) {
  return (
    <div class="table-wrap">
      <table class="workers">
        <thead>
          <tr>
            <th>Worker</th>
            <th>Phase</th>
            <th>Ready</th>
            <th>Restarts</th>
            <th>Port</th>
            <th>Message</th>
          </tr>
        </thead>
        <tbody>
          <WorkerRows workers={props.workers} />
        </tbody>
      </table>
    </div>
  );
}

export function ServicesView(props: { services: DashboardService[]; dayu: DashboardDayuObject[] }) {
  return (
    <>
      {props.services.length === 0 ? (
        <p class="empty">No services yet: apply one with `levee ctl apply -f service.yaml`.</p>
      ) : null}
      {props.services.map((s) => {
        const ready = s.workers.filter((w) => w.ready).length;
        return (
          <section class="service" data-service={s.name}>
            <h2>
              {s.name}{" "}
              <small>
                {ready}/{s.workers.length} ready · generation {s.generation}
                {s.meshPort !== null ? ` · mesh port ${s.meshPort}` : ""}
                {s.owner ? ` · made by ${s.owner.kind}/${s.owner.name}` : ""}
              </small>
            </h2>
            <WorkerTable workers={s.workers} />
          </section>
        );
      })}
      {props.dayu.length > 0 ? (
        <section class="dayu">
          <h2>Dayu objects</h2>
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th>Object</th>
                  <th>Made</th>
                </tr>
              </thead>
              <tbody>
                {props.dayu.map((d) => (
                  <tr data-dayu={`${d.kind}/${d.name}`}>
                    <td>
                      {d.kind}/{d.name}
                    </td>
                    <td>{d.made.map((m) => `${m.kind}/${m.name}`).join(", ") || "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      ) : null}
    </>
  );
}
