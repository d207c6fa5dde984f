// The dashboard's script in the browser (served as /ui/assets/dashboard.js): live updates and the
// followed worker log. The live stream (/ui/data/live, server-sent events) says which topics
// changed; when the page shows one of them, the page's live region (#live) is fetched again with
// the Levee-Partial header and replaced. One refetch at a time; changes during one cause another.
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
    });
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
})();
