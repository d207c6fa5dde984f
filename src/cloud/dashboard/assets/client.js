// The dashboard's script in the browser (served as /ui/assets/dashboard.js): live updates and the
// followed worker log. The live stream (/ui/data/live, server-sent events) says which topics
// changed; when the page shows one of them, the page's live region (#live) is fetched again with
// the Levee-Partial header and replaced. One refetch at a time; changes during one cause another.
// A "traffic" change (a node's traffic report) refetches the traffic charts, or the map's link rates.
(() => {
  const live = document.getElementById("live");
  const state = document.getElementById("live-state");
  const setState = (text, cls) => {
    if (!state) return;
    state.textContent = text;
    state.className = `live-state ${cls}`;
  };

  let busy = false;
  let again = false;
  async function refresh() {
    if (!live) return;
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      const res = await fetch(location.pathname + location.search, {
        headers: { "Levee-Partial": "1" },
        credentials: "same-origin",
      });
      if (res.status === 401 || res.redirected) {
        location.reload();
        return;
      }
      if (res.ok) live.innerHTML = await res.text();
    } catch {
      // the next change tries again
    } finally {
      busy = false;
      if (again) {
        again = false;
        void refresh();
      }
    }
  }

  if (live) {
    const topics = (live.dataset.topics || "").split(" ").filter(Boolean);
    const source = new EventSource("/ui/data/live");
    source.addEventListener("open", () => setState("live", "ok"));
    source.addEventListener("error", () => {
      setState("reconnecting", "warn");
      // Closed for good (e.g. 401: the session ended): the page load goes to the login page.
      if (source.readyState === EventSource.CLOSED) setTimeout(() => location.reload(), 2000);
    });
    source.addEventListener("change", (e) => {
      const changed = JSON.parse(e.data).topics || [];
      if (changed.some((t) => topics.includes(t))) void refresh();
      // A traffic report arrived: the charts and the map's links are read again.
      if (changed.includes("traffic")) {
        void drawTraffic();
        void refreshLinks();
      }
    });
  }

  // The map's traffic links: their labels and rates from /ui/data/links, changed in place; a link
  // that came or went between two drawn nodes needs the map drawn again (the live region).
  let linksBusy = false;
  async function refreshLinks() {
    const map = live?.querySelector("svg.map");
    if (!map || linksBusy) return;
    linksBusy = true;
    try {
      const res = await fetch("/ui/data/links", { credentials: "same-origin" });
      if (!res.ok) return;
      const { links } = await res.json();
      const drawn = new Set([...map.querySelectorAll("g[data-node]")].map((g) => g.dataset.node));
      const seen = new Set();
      let redraw = false;
      for (const l of links) {
        const key = `${l.from}-${l.to}-${l.kind}`;
        const text = map.querySelector(`text.rate[data-link="${CSS.escape(key)}"]`);
        if (!text) {
          if (drawn.has(l.from) && drawn.has(l.to)) redraw = true;
          continue;
        }
        seen.add(key);
        text.textContent = l.label;
        text.dataset.bytes = String(Math.round(l.bytesPerSecond));
        text.dataset.errors = String(l.errorsPerSecond);
        text.classList.toggle("errors", l.errorsPerSecond > 0);
        const title = map.querySelector(`line[data-link="${CSS.escape(key)}"] title`);
        if (title) title.textContent = l.title;
      }
      for (const text of map.querySelectorAll("text.rate[data-link]"))
        if (!seen.has(text.dataset.link)) redraw = true;
      if (redraw) void refresh();
    } catch {
      // the next report tries again
    } finally {
      linksBusy = false;
    }
  }

  const log = document.getElementById("log");
  const logState = document.getElementById("log-state");
  const MAX_LINES = 2000;
  async function follow() {
    if (!log) return;
    const src = log.dataset.src;
    if (!src) return;
    try {
      const res = await fetch(src, { credentials: "same-origin" });
      if (!res.ok || !res.body) {
        if (logState) logState.textContent = `unavailable: ${(await res.text()).slice(0, 300)}`;
        setTimeout(follow, 5000);
        return;
      }
      if (logState) logState.textContent = "following";
      log.textContent = "";
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
        log.append(value);
        const text = log.textContent || "";
        const lines = text.split("\n");
        if (lines.length > MAX_LINES) log.textContent = lines.slice(-MAX_LINES).join("\n");
        if (atBottom) log.scrollTop = log.scrollHeight;
      }
      if (logState) logState.textContent = "ended; reconnecting";
    } catch {
      if (logState) logState.textContent = "broken off; reconnecting";
    }
    setTimeout(follow, 3000);
  }
  void follow();

  // The traffic page: the charts of /ui/data/traffic (per service, then the links between nodes),
  // drawn with uPlot, refetched on each "traffic" change of the live stream (and every 5 s).
  const traffic = document.getElementById("traffic");
  const charts = new Map();
  const chartWidth = (el) => Math.max(260, el.clientWidth - 12);
  const COLORS = ["#2b6cb0", "#1f9d55", "#d69e2e", "#805ad5", "#d64545", "#319795", "#dd6b20"];
  // Each chart in its own box, the boxes laid out first (so each plot takes its box's width),
  // resized with its box.
  const resizer = new ResizeObserver((entries) => {
    for (const entry of entries) {
      const chart = charts.get(entry.target.dataset.chart);
      if (chart) chart.plot.setSize({ width: chartWidth(entry.target), height: 170 });
    }
  });
  function box(parent, key, title) {
    let el = parent.querySelector(`[data-chart="${CSS.escape(key)}"]`);
    if (el) return el;
    el = document.createElement("div");
    el.className = "chart";
    el.dataset.chart = key;
    const h = document.createElement("h3");
    h.textContent = title;
    el.append(h);
    parent.append(el);
    return el;
  }
  function chart(el, labels, unit, points = false) {
    const key = el.dataset.chart;
    let entry = charts.get(key);
    if (entry && entry.labels === labels.join()) return entry;
    if (entry) entry.plot.destroy();
    const plot = new uPlot(
      {
        width: chartWidth(el),
        height: 170,
        scales: { x: { time: true } },
        axes: [{}, { label: unit, size: 50 }],
        series: [
          {},
          ...labels.map((label, i) => ({
            label,
            stroke: COLORS[i % COLORS.length],
            width: 2,
            // Latency has gaps (no samples): points show a value between two gaps.
            points: { show: points ? true : undefined, size: 5 },
          })),
        ],
      },
      [[]],
      el,
    );
    entry = { plot, labels: labels.join() };
    charts.set(key, entry);
    resizer.observe(el);
    return entry;
  }
  let trafficBusy = false;
  async function drawTraffic() {
    if (!traffic || typeof uPlot === "undefined" || trafficBusy) return;
    trafficBusy = true;
    try {
      const res = await fetch(traffic.dataset.src, { credentials: "same-origin" });
      if (res.status === 401) {
        location.reload();
        return;
      }
      const data = await res.json();
      if (data.services.length === 0 && data.links.links.length === 0) {
        traffic.innerHTML =
          '<p class="empty">No mesh traffic reported in the last 15 minutes (nodes report while a dashboard page is open).</p>';
        charts.clear();
        return;
      }
      traffic.querySelector(".empty")?.remove();
      for (const s of data.services) {
        let section = traffic.querySelector(`section[data-service="${CSS.escape(s.service)}"]`);
        if (!section) {
          section = document.createElement("section");
          section.dataset.service = s.service;
          const h = document.createElement("h2");
          h.textContent = s.service;
          const grid = document.createElement("div");
          grid.className = "traffic-charts";
          section.append(h, grid);
          traffic.append(section);
        }
        const grid = section.querySelector(".traffic-charts");
        const boxes = [
          box(grid, `${s.service}/requests`, "Requests/s per node"),
          box(grid, `${s.service}/latency`, "Latency p50 / p99"),
          box(grid, `${s.service}/errors`, "Errors/s per node"),
        ];
        const x = s.times.map((t) => t / 1000);
        const nodes = s.nodes.map((n) => n.node);
        const total = s.nodes.reduce((sum, n) => sum + n.requests.reduce((a, b) => a + b, 0), 0);
        section.dataset.requests = String(total);
        chart(boxes[0], nodes, "req/s").plot.setData([x, ...s.nodes.map((n) => n.requests)]);
        chart(boxes[1], ["p50", "p99"], "ms", true).plot.setData([
          x,
          s.p50.map((v) => (v === null ? null : v * 1000)),
          s.p99.map((v) => (v === null ? null : v * 1000)),
        ]);
        chart(boxes[2], nodes, "err/s").plot.setData([x, ...s.nodes.map((n) => n.errors)]);
      }
      drawLinks(data.links);
    } catch {
      // the next round tries again
    } finally {
      trafficBusy = false;
    }
  }
  // The links between nodes (peer → node, by path): requests/s, bytes/s both ways, errors/s.
  const sum = (values) => values.reduce((a, b) => a + b, 0);
  function drawLinks(data) {
    let section = traffic.querySelector('section[data-section="links"]');
    if (data.links.length === 0) {
      section?.remove();
      return;
    }
    if (!section) {
      section = document.createElement("section");
      section.dataset.section = "links";
      const h = document.createElement("h2");
      h.textContent = "Links between nodes";
      const grid = document.createElement("div");
      grid.className = "traffic-charts";
      section.append(h, grid);
    }
    traffic.append(section); // last, after the services
    const grid = section.querySelector(".traffic-charts");
    const boxes = [
      box(grid, "links/requests", "Requests/s per link"),
      box(grid, "links/bytes", "Bytes/s per link (both ways)"),
      box(grid, "links/errors", "Errors/s per link"),
    ];
    const x = data.times.map((t) => t / 1000);
    const names = data.links.map((l) => `${l.peer} → ${l.node}${l.via === "relay" ? " (relay)" : ""}`);
    const bytes = data.links.map((l) => l.bytesIn.map((v, i) => v + (l.bytesOut[i] || 0)));
    section.dataset.requests = String(sum(data.links.map((l) => sum(l.requests))));
    section.dataset.bytes = String(sum(bytes.map(sum)));
    section.dataset.errors = String(sum(data.links.map((l) => sum(l.errors))));
    chart(boxes[0], names, "req/s").plot.setData([x, ...data.links.map((l) => l.requests)]);
    chart(boxes[1], names, "B/s").plot.setData([x, ...bytes]);
    chart(boxes[2], names, "err/s").plot.setData([x, ...data.links.map((l) => l.errors)]);
  }
  if (traffic) {
    void drawTraffic();
    // Besides each "traffic" change: the time axis moves on when nothing is reported.
    setInterval(drawTraffic, 5000);
  }
})();
