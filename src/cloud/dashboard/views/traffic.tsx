// The traffic page: per service, requests/s and errors/s per node and p50/p99 latency over the last
// 15 minutes; then the links between nodes: requests/s, bytes/s and errors/s per link. The charts
// are drawn in the browser with uPlot from /ui/data/traffic (refetched by the client script when
// the live stream says a report arrived); the page itself is only their frame.
export function TrafficFrame() {
  return (
    <>
      <p class="summary">
        Mesh traffic served by each node's workers, and carried between nodes through the tunnel, from the
        nodes' reports (sent while a dashboard page is open; the last 15 minutes in 5-second steps, the last
        minute in 1-second steps; redrawn as reports arrive).
      </p>
      <div id="traffic" data-src="/ui/data/traffic">
        <p class="empty">Loading…</p>
      </div>
    </>
  );
}
