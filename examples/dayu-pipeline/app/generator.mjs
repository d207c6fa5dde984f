// generator (one per edge; Dayu's video source + generator): every INTERVAL_MS makes a "video
// chunk" (random bytes, CHUNK_MIN..CHUNK_MAX, with a task id and its sha256) and POSTs it as
// multipart/form-data to the controller OF ITS OWN NODE: the controller's mesh port on this node's
// address (from the agent's /v1/nodes), the way Dayu addresses http://<device IP>:<port>/.
// A task whose submission fails is sent again (same id, same bytes) until TASK_DEADLINE_MS.
// Reports its counts to the distributor every second. Its own port (PORT, else any free one):
//   GET /stats   {source, runId, generated, completed, failed, inFlight, paused}
//   POST /pause, POST /resume   stop or restart making chunks (tests use it to drain the pipeline)
import { randomBytes } from "node:crypto";
import {
  buildMultipart,
  cloudNode,
  envInt,
  jsonBody,
  jsonOf,
  log,
  meshRequest,
  NODE,
  retryUntil,
  send,
  serve,
  servicePort,
  sha256,
} from "./lib.mjs";

const INTERVAL_MS = envInt("INTERVAL_MS", 200);
const CHUNK_MIN = envInt("CHUNK_MIN", 64 * 1024);
const CHUNK_MAX = envInt("CHUNK_MAX", 256 * 1024);
const TASK_DEADLINE_MS = envInt("TASK_DEADLINE_MS", 120_000);
const MAX_IN_FLIGHT = envInt("MAX_IN_FLIGHT", 64);
const CONTROLLER = process.env.CONTROLLER_SERVICE ?? "controller";
const DISTRIBUTOR = process.env.DISTRIBUTOR_SERVICE ?? "distributor";

// A run id keeps task ids unique across restarts of this generator.
const runId = Date.now().toString(36);
const counts = { generated: 0, completed: 0, failed: 0, retries: 0, inFlight: 0 };
let paused = (process.env.START_PAUSED ?? "") === "true";
const queue = [];

function makeChunk() {
  const size = CHUNK_MIN + Math.floor(Math.random() * (CHUNK_MAX - CHUNK_MIN + 1));
  const data = randomBytes(size);
  counts.generated++;
  const seq = counts.generated;
  return {
    meta: {
      taskId: `${NODE}.${runId}.${seq}`,
      source: NODE,
      runId,
      seq,
      size,
      sha256: sha256(data),
      generatedAt: Date.now(),
    },
    data,
  };
}

async function submit(task) {
  const deadline = task.meta.generatedAt + TASK_DEADLINE_MS;
  const { body, contentType } = buildMultipart([
    { name: "data", value: JSON.stringify(task.meta) },
    { name: "file", filename: `${task.meta.taskId}.bin`, type: "application/octet-stream", data: task.data },
  ]);
  await retryUntil(
    deadline,
    async () => {
      const port = await servicePort(CONTROLLER);
      // Straight to this node's address: the service port of this node (no proxy needed).
      const answer = await meshRequest(NODE, port, "/submit", {
        method: "POST",
        headers: { "content-type": contentType },
        body,
        direct: true,
        timeoutMs: 60_000,
      });
      return jsonOf(answer, `controller on ${NODE}`);
    },
    (err, attempt) => {
      counts.retries++;
      if (attempt === 1 || attempt % 10 === 0)
        log("submit failed; retrying", { task: task.meta.taskId, attempt, error: err.message });
    },
  );
}

function pump() {
  while (counts.inFlight < MAX_IN_FLIGHT && queue.length > 0) {
    const task = queue.shift();
    counts.inFlight++;
    submit(task)
      .then(() => counts.completed++)
      .catch((err) => {
        counts.failed++;
        log("task given up", { task: task.meta.taskId, error: err.message });
      })
      .finally(() => {
        counts.inFlight--;
        pump();
      });
  }
}

setInterval(() => {
  if (paused) return;
  queue.push(makeChunk());
  pump();
}, INTERVAL_MS);

function snapshot() {
  return { source: NODE, runId, ...counts, queued: queue.length, paused };
}

async function report() {
  try {
    const cloud = await cloudNode();
    const port = await servicePort(DISTRIBUTOR);
    jsonOf(
      await meshRequest(cloud, port, "/generated", { method: "POST", ...jsonBody(snapshot()) }),
      "distributor",
    );
  } catch (err) {
    log("report to the distributor failed", { error: err.message });
  }
}
setInterval(report, 1000);

serve(
  {
    "GET /health": (_req, res) => send(res, 200, "ok"),
    "GET /stats": (_req, res) => send(res, 200, snapshot()),
    "POST /pause": async (_req, res) => {
      paused = true;
      await report();
      send(res, 200, snapshot());
    },
    "POST /resume": (_req, res) => {
      paused = false;
      send(res, 200, snapshot());
    },
  },
  { anyPort: true },
);
log("generating", { intervalMs: INTERVAL_MS, chunk: `${CHUNK_MIN}..${CHUNK_MAX}`, runId });
