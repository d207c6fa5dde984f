// controller (one per node, cloud included; Dayu's controller): takes a task from its node's
// generator (POST /submit, multipart: data = the task as JSON, file = the chunk), asks the
// scheduler on the cloud where to process it, and hands it to the processor ON THAT NODE by
// addressing that node's processor service port, http://<node>:<processor port>/process, through
// the mesh forward proxy (so it works when edges cannot reach each other):
//   - processor on this node: the chunk goes into the node's shared /temp (TEMP_DIR, Dayu's /temp
//     between controller and processor) and only the task's metadata is sent;
//   - processor elsewhere: the chunk's bytes are sent (multipart).
// When the processor does not answer 200 (it moved away: 503 from the mesh, 502, a dropped
// connection), the task is scheduled again, avoiding that node, until DISPATCH_DEADLINE_MS: the
// task is delivered at least once (the distributor drops duplicates by task id). The generator
// gets 200 only once the result reached the distributor.
import { readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  buildMultipart,
  cloudNode,
  envInt,
  jsonBody,
  jsonOf,
  log,
  meshRequest,
  NODE,
  parseMultipart,
  readBody,
  retryUntil,
  send,
  serve,
  servicePort,
  sha256,
} from "./lib.mjs";

const TEMP_DIR = process.env.TEMP_DIR;
const DISPATCH_DEADLINE_MS = envInt("DISPATCH_DEADLINE_MS", 60_000);
const SCHEDULER = process.env.SCHEDULER_SERVICE ?? "scheduler";
const PROCESSOR = process.env.PROCESSOR_SERVICE ?? "processor";
const DISTRIBUTOR = process.env.DISTRIBUTOR_SERVICE ?? "distributor";
if (!TEMP_DIR) throw new Error("TEMP_DIR is not set: mount the node's shared temp dir with envName TEMP_DIR");

const stats = {
  received: 0,
  dispatched: 0,
  local: 0,
  remote: 0,
  redispatched: 0,
  failed: 0,
  byteMismatches: 0,
};

async function schedule(task, avoid) {
  const cloud = await cloudNode();
  const port = await servicePort(SCHEDULER);
  const query = new URLSearchParams({ task: task.taskId, source: NODE, avoid: [...avoid].join(",") });
  return jsonOf(await meshRequest(cloud, port, `/schedule?${query}`), "scheduler");
}

/** One attempt: the processor on `node` processes the task; its answer, or an error. */
async function processOn(node, task, data, attempt) {
  const port = await servicePort(PROCESSOR);
  if (node !== NODE) {
    const { body, contentType } = buildMultipart([
      { name: "data", value: JSON.stringify(task) },
      { name: "file", filename: `${task.taskId}.bin`, data },
    ]);
    stats.remote++;
    const answer = await meshRequest(node, port, "/process", {
      method: "POST",
      headers: { "content-type": contentType },
      body,
      timeoutMs: 30_000,
    });
    return jsonOf(answer, `processor on ${node}`);
  }
  // Same node: the chunk goes through the node's shared /temp.
  const file = `${task.taskId}.${attempt}.bin`;
  const path = join(TEMP_DIR, file);
  await writeFile(`${path}.part`, data);
  await rename(`${path}.part`, path);
  stats.local++;
  try {
    const answer = await meshRequest(node, port, "/process", {
      method: "POST",
      ...jsonBody({ ...task, file }),
      timeoutMs: 30_000,
    });
    return jsonOf(answer, `processor on ${node}`);
  } finally {
    // The processor removes it once done; after a failure it is ours to remove.
    await rm(path, { force: true });
  }
}

async function dispatch(task, data) {
  const avoid = new Set();
  const deadline = Date.now() + DISPATCH_DEADLINE_MS;
  return retryUntil(
    deadline,
    async (attempt) => {
      const decision = await schedule(task, avoid);
      const timed = { ...task, scheduledAt: Date.now(), attempt, decidedBy: decision.policy };
      try {
        return await processOn(decision.node, timed, data, attempt);
      } catch (err) {
        avoid.add(decision.node);
        if (avoid.size > 3) avoid.delete(avoid.values().next().value);
        throw err;
      }
    },
    (err, attempt) => {
      stats.redispatched++;
      if (attempt === 1 || attempt % 10 === 0)
        log("dispatch failed; scheduling again", { task: task.taskId, attempt, error: err.message });
    },
  );
}

async function reportMismatch(task, stage) {
  try {
    const cloud = await cloudNode();
    const port = await servicePort(DISTRIBUTOR);
    await meshRequest(cloud, port, "/events", {
      method: "POST",
      ...jsonBody({ kind: "byte-mismatch", stage, taskId: task.taskId, node: NODE }),
    });
  } catch (err) {
    log("cannot report to the distributor", { error: err.message });
  }
}

serve({
  "GET /health": (_req, res) => send(res, 200, "ok"),
  "GET /stats": (_req, res) => send(res, 200, { node: NODE, ...stats }),
  "POST /submit": async (req, res) => {
    const receivedAt = Date.now();
    const body = await readBody(req);
    const parts = parseMultipart(body, req.headers["content-type"]);
    const meta = parts.get("data");
    const file = parts.get("file");
    if (!meta || !file)
      return send(res, 400, { error: "expected the parts data (the task) and file (the chunk)" });
    const task = { ...JSON.parse(meta.data.toString()), receivedAt, controller: NODE };
    stats.received++;
    if (sha256(file.data) !== task.sha256 || file.data.length !== task.size) {
      stats.byteMismatches++;
      await reportMismatch(task, "generator→controller");
      return send(res, 422, { error: `task ${task.taskId}: the chunk does not match its sha256 or size` });
    }
    try {
      const result = await dispatch(task, file.data);
      stats.dispatched++;
      send(res, 200, result);
    } catch (err) {
      stats.failed++;
      send(res, 503, { error: `task ${task.taskId} not processed: ${err.message}` });
    }
  },
});

// Leftovers of a controller that died between writing and handing over.
setInterval(async () => {
  for (const name of await readdir(TEMP_DIR).catch(() => [])) {
    const path = join(TEMP_DIR, name);
    const info = await stat(path).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > 5 * 60_000) await rm(path, { force: true });
  }
}, 60_000).unref();
log("controller ready", { temp: TEMP_DIR });
