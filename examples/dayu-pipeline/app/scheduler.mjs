// scheduler (cloud; Dayu's scheduler): decides per task on which node it is processed.
//   GET /schedule?task=ID&source=NODE&avoid=N1,N2 → {node, policy, candidates, decidedAt}
// Candidates are the nodes that run a READY processor right now, read from the local agent's
// discovery API (/v1/services/processor: what Dayu read from the Kubernetes API), on nodes that are
// Ready: when the processor moves, the decisions follow. POLICY:
//   round-robin  (default) each candidate in turn, per source node
//   local-first  the task's source node when it is a candidate, else round robin
// Nodes in `avoid` (where this task just failed) are skipped unless nothing else is left.
import { envInt, log, nodes, send, serve, service } from "./lib.mjs";

const PROCESSOR = process.env.PROCESSOR_SERVICE ?? "processor";
const POLICY = process.env.POLICY ?? "round-robin";
const REFRESH_MS = envInt("REFRESH_MS", 250);
if (!["round-robin", "local-first"].includes(POLICY))
  throw new Error(`POLICY=${POLICY}: expected round-robin or local-first`);

// One turn per source node: each node's tasks go round all candidates (a shared counter would
// send the tasks of generators that tick in step to the same node every time).
const turns = new Map();
const decisions = {};

async function candidates() {
  const [svc, all] = await Promise.all([service(PROCESSOR, REFRESH_MS), nodes()]);
  const up = new Set(all.filter((n) => n.state === "Ready").map((n) => n.name));
  return [...new Set(svc.workers.filter((w) => w.ready && up.has(w.node)).map((w) => w.node))].sort();
}

serve({
  "GET /health": (_req, res) => send(res, 200, "ok"),
  "GET /stats": (_req, res) => send(res, 200, { policy: POLICY, decisions }),
  "GET /schedule": async (_req, res, url) => {
    const source = url.searchParams.get("source") ?? "";
    const avoid = new Set((url.searchParams.get("avoid") ?? "").split(",").filter(Boolean));
    const ready = await candidates();
    if (ready.length === 0) return send(res, 503, { error: `no node runs a ready ${PROCESSOR}` });
    const allowed = ready.filter((n) => !avoid.has(n));
    const pool = allowed.length > 0 ? allowed : ready;
    let node;
    if (POLICY === "local-first" && pool.includes(source)) node = source;
    else {
      const turn = turns.get(source) ?? 0;
      turns.set(source, turn + 1);
      node = pool[turn % pool.length];
    }
    decisions[node] = (decisions[node] ?? 0) + 1;
    send(res, 200, { node, policy: POLICY, candidates: ready, decidedAt: Date.now() });
  },
});
log("scheduler ready", { policy: POLICY, processor: PROCESSOR });
