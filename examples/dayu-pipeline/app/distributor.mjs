// distributor (cloud; Dayu's distributor): collects the results with their per-stage timestamps
// and the reports of generators and monitors, and serves the numbers.
//   POST /result      a processed task (from a processor); a task id seen before is a duplicate
//                     (tasks are delivered at least once) and is counted, not stored again
//   POST /generated   a generator's counts;  POST /resources  a monitor's report
//   POST /events      {kind: "byte-mismatch", ...}
//   GET /stats        tasks/s, per-stage latency p50/p99, where tasks ran, generated vs received
//                     per generator, byte mismatches, requests served on a node other than the
//                     addressed one (must be 0), the latest resource report per node
//   GET /results?since=N   the results in arrival order from index N (at most 1000 per answer; the
//                     last KEEP_RESULTS are kept)
// Stage timestamps come from the clocks of the nodes that stamp them: across machines, latencies
// are only as good as the clock sync (on one machine, as in `levee demo`, they are exact).
import { envInt, log, misrouted, NODE, nodes, readBody, send, serve } from "./lib.mjs";

const WINDOW = envInt("LATENCY_WINDOW", 2000);
const RATE_WINDOW_MS = envInt("RATE_WINDOW_MS", 10_000);
const STAGES = {
  upload: ["generated", "received"],
  schedule: ["received", "scheduled"],
  process: ["scheduled", "processed"],
  distribute: ["processed", "distributed"],
  total: ["generated", "distributed"],
};

const seen = new Set();
const KEEP_RESULTS = envInt("KEEP_RESULTS", 100_000);
const results = [];
let dropped = 0; // results no longer kept: results[0] is result number `dropped`
const recent = [];
const ranOn = {};
const routes = {}; // "source>node" → tasks
const transfers = {};
const runs = new Map();
const resources = {};
const mismatches = [];
let duplicates = 0;
let violations = 0;
const violationSamples = [];
let nodeRoles = {};
const started = Date.now();

function runOf(source, runId) {
  const key = `${source}/${runId}`;
  let run = runs.get(key);
  if (!run) {
    run = { source, runId, maxSeq: 0, reported: undefined, received: new Set() };
    runs.set(key, run);
  }
  return run;
}

/** Where tasks ran, seen from their source: on the same node, another edge, or the cloud. */
function placement() {
  const out = { sameNode: 0, otherEdge: 0, cloud: 0 };
  for (const [route, count] of Object.entries(routes)) {
    const [source, node] = route.split(">");
    if (node === source) out.sameNode += count;
    else if (nodeRoles[node] === "cloud") out.cloud += count;
    else out.otherEdge += count;
  }
  return out;
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function latencies() {
  const out = {};
  for (const [stage, [from, to]] of Object.entries(STAGES)) {
    const values = recent
      .map((r) => r.timestamps[to] - r.timestamps[from])
      .filter(Number.isFinite)
      .sort((a, b) => a - b);
    out[stage] = { p50: percentile(values, 50), p99: percentile(values, 99) };
  }
  return out;
}

function generators() {
  const bySource = {};
  for (const run of runs.values()) {
    if (!bySource[run.source])
      bySource[run.source] = {
        generated: 0,
        received: 0,
        missing: 0,
        failed: 0,
        inFlight: 0,
        missingIds: [],
      };
    const entry = bySource[run.source];
    // A report is up to a second old: a task that arrived was generated too.
    const generated = Math.max(run.reported?.generated ?? 0, run.maxSeq);
    entry.generated += generated;
    entry.received += run.received.size;
    entry.failed += run.reported?.failed ?? 0;
    entry.inFlight += (run.reported?.inFlight ?? 0) + (run.reported?.queued ?? 0);
    for (let seq = 1; seq <= generated; seq++) {
      if (run.received.has(seq)) continue;
      entry.missing++;
      if (entry.missingIds.length < 20) entry.missingIds.push(`${run.source}.${run.runId}.${seq}`);
    }
  }
  return bySource;
}

serve(
  {
    "GET /health": (_req, res) => send(res, 200, "ok"),
    "POST /result": async (req, res) => {
      const result = JSON.parse((await readBody(req)).toString());
      result.timestamps.distributed = Date.now();
      if (seen.has(result.taskId)) {
        duplicates++;
        return send(res, 200, { duplicate: true });
      }
      seen.add(result.taskId);
      results.push(result);
      if (results.length > KEEP_RESULTS) {
        results.splice(0, results.length - KEEP_RESULTS);
        dropped = seen.size - results.length;
      }
      recent.push(result);
      if (recent.length > WINDOW) recent.shift();
      const run = runOf(result.source, result.runId);
      run.received.add(result.seq);
      run.maxSeq = Math.max(run.maxSeq, result.seq);
      ranOn[result.node] = (ranOn[result.node] ?? 0) + 1;
      transfers[result.transfer] = (transfers[result.transfer] ?? 0) + 1;
      const route = `${result.source}>${result.node}`;
      routes[route] = (routes[route] ?? 0) + 1;
      if (result.addressedNode !== null && result.addressedNode !== result.node) {
        violations++;
        if (violationSamples.length < 20) violationSamples.push(result);
      }
      send(res, 200, { duplicate: false });
    },
    "POST /generated": async (req, res) => {
      const report = JSON.parse((await readBody(req)).toString());
      runOf(report.source, report.runId).reported = report;
      send(res, 200, { ok: true });
    },
    "POST /resources": async (req, res) => {
      const report = JSON.parse((await readBody(req)).toString());
      resources[report.node] = { ...report, receivedAt: Date.now() };
      send(res, 200, { ok: true });
    },
    "POST /events": async (req, res) => {
      const event = JSON.parse((await readBody(req)).toString());
      if (event.kind === "byte-mismatch") mismatches.push({ ...event, at: Date.now() });
      if (event.kind === "misrouted") {
        violations++;
        if (violationSamples.length < 20) violationSamples.push(event);
      }
      log("event", event);
      send(res, 200, { ok: true });
    },
    "GET /results": (_req, res, url) => {
      const since = Number(url.searchParams.get("since") ?? 0);
      const from = Math.max(0, since - dropped);
      send(res, 200, { total: dropped + results.length, items: results.slice(from, from + 1000) });
    },
    "GET /stats": (_req, res) => {
      const now = Date.now();
      let inWindow = 0;
      for (
        let i = results.length - 1;
        i >= 0 && now - results[i].timestamps.distributed <= RATE_WINDOW_MS;
        i--
      )
        inWindow++;
      const elapsed = Math.min(RATE_WINDOW_MS, now - started);
      send(res, 200, {
        node: NODE,
        now,
        tasks: {
          received: seen.size,
          duplicates,
          perSecond: elapsed > 0 ? (inWindow * 1000) / elapsed : 0,
        },
        latencyMs: latencies(),
        ranOn,
        placement: placement(),
        transfers,
        generators: generators(),
        byteMismatches: mismatches.length,
        mismatchSamples: mismatches.slice(0, 10),
        violations: violations + misrouted.count,
        violationSamples,
        resources,
      });
    },
  },
  // Requests that reach the distributor on the wrong node count here (misrouted.count).
  { onMisrouted: () => {} },
);

// The roles of the nodes (cloud or edge), for "where tasks ran", from the local agent.
function refreshRoles() {
  nodes()
    .then((all) => {
      nodeRoles = Object.fromEntries(all.map((n) => [n.name, n.role]));
    })
    .catch((err) => log("cannot read the nodes", { error: err.message }));
}
refreshRoles();
setInterval(refreshRoles, 5000);
log("distributor ready");
