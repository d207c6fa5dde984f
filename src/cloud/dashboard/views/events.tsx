// The events timeline, newest first, with a filter by node and service (a GET form: the filter is
// in the address, so a filtered view can be bookmarked and the live region refetches it as is).
import type { LeveeEvent } from "../../control-plane.ts";

/** A select of `options` with "all" first (the empty value). */
function Choice(props: { label: string; name: string; options: string[]; selected: string | undefined }) {
  return (
    <label>
      {props.label}
      <select name={props.name}>
        <option value="">all</option>
        {props.options.map((o) => (
          <option value={o} selected={o === props.selected}>
            {o}
          </option>
        ))}
      </select>
    </label>
  );
}

export function EventFilterForm(props: {
  nodes: string[];
  services: string[];
  node?: string;
  service?: string;
}) {
  return (
    <form method="get" action="/ui/events" class="filter">
      <Choice label="Node" name="node" options={props.nodes} selected={props.node} />
      <Choice label="Service" name="service" options={props.services} selected={props.service} />
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
