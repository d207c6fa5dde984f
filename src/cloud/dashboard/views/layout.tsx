// The frame of every dashboard page: the navigation, the live region (`#live`, which the client
// script replaces when the live stream says what it shows has changed) and the script. A request
// with the `Levee-Partial` header gets the live region's content alone.
import type { Child } from "hono/jsx";

import type { Topic } from "../live-feed.ts";

export interface PageProps {
  title: string;
  current: "map" | "services" | "traffic" | "events" | "upgrades" | "worker";
  /** Extra files of /ui/assets/ this page needs (scripts before the dashboard's own). */
  scripts?: string[];
  styles?: string[];
  /** What changes make the live region stale. */
  topics: Topic[];
  children?: Child;
  /** Content before the live region, kept across updates (e.g. a filter being chosen). */
  before?: Child;
  /** Content outside the live region (kept across updates, e.g. a log being followed). */
  after?: Child;
}

export function Page(props: PageProps) {
  const link = (href: string, name: PageProps["current"], text: string) => (
    <a href={href} class={props.current === name ? "current" : ""}>
      {text}
    </a>
  );
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · levee`}</title>
        {(props.styles ?? []).map((name) => (
          <link rel="stylesheet" href={`/ui/assets/${name}`} />
        ))}
        <link rel="stylesheet" href="/ui/assets/dashboard.css" />
        {(props.scripts ?? []).map((name) => (
          <script src={`/ui/assets/${name}`} defer></script>
        ))}
        <script src="/ui/assets/dashboard.js" defer></script>
      </head>
      <body>
        <header>
          <span class="brand">levee</span>
          <nav>
            {link("/ui", "map", "Cluster")}
            {link("/ui/services", "services", "Services")}
            {link("/ui/traffic", "traffic", "Traffic")}
            {link("/ui/events", "events", "Events")}
            {link("/ui/upgrades", "upgrades", "Upgrades")}
          </nav>
          <span id="live-state" class="live-state" title="live updates">
            connecting
          </span>
          <form method="post" action="/ui/logout">
            <button type="submit">Log out</button>
          </form>
        </header>
        <main>
          <h1>{props.title}</h1>
          {props.before}
          <div id="live" data-topics={props.topics.join(" ")}>
            {props.children}
          </div>
          {props.after}
        </main>
      </body>
    </html>
  );
}
