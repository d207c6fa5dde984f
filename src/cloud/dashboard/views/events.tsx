// The events timeline, newest first, with a filter by node and service (a GET form: the filter is
// in the address, so a filtered view can be bookmarked and the live region refetches it as is).
import type { LeveeEvent } from "../../control-plane.ts";

export function EventFilterForm(props: {
  nodes: string[];
  services: string[];
  node?: string;
  service?: string;
}) {
  return (
    <form method="get" action="/ui/events" class="filter">
      <label>
        Node
        <select name="node">
          <option value="">all</option>
          {props.nodes.map((n) => (
            <option value={n} selected={n === props.node}>
              {n}
            </option>
          ))}
        </select>
      </label>
      <label>
        Service
        <select name="service">
          <option value="">all</option>
          {props.services.map((s) => (
            <option value={s} selected={s === props.service}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <button type="submit">Filter</button>
    </form>
  );
}

export function EventList(props: { events: LeveeEvent[] }) {
  if (props.events.length === 0) return <p class="empty">No events.</p>;
  return (
    <ol class="events">
      {props.events.map((e) => (
        <li data-event={e.id}>
          <time datetime={e.ts}>{e.ts.replace("T", " ").slice(0, 19)}</time>
          <span class="what">
            {e.kind}/{e.name}
          </span>
          <span class={`reason ${e.reason}`}>{e.reason}</span>
          <span class="message">{e.message}</span>
        </li>
      ))}
    </ol>
  );
}
