// processor (on the nodes the manifest puts it; Dayu's processor, e.g. car-detection): POST
// /process with a task from a controller. The chunk comes from the node's shared /temp (JSON body
// naming the file: the controller is on this node) or in the request (multipart: data + file).
// Verifies the sha256, "infers" (INFER_ROUNDS rounds of hashing: a little CPU work), sends the
// result with its timestamps to the distributor on the cloud, and only then answers the controller
// with the result, naming the node and worker that processed it.

import { createHash } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { basename, join } from "node:path";
import {
  cloudNode,
  envInt,
  jsonBody,
  jsonOf,
  log,
  meshRequest,
  misrouted,
  NODE,
  NODE_HEADER,
  parseMultipart,
  readBody,
  retryUntil,
  send,
  serve,
  servicePort,
  sha256,
  WORKER,
} from "./lib.mjs";

const TEMP_DIR = process.env.TEMP_DIR;
const INFER_ROUNDS = envInt("INFER_ROUNDS", 3);
const DISTRIBUTOR = process.env.DISTRIBUTOR_SERVICE ?? "distributor";
if (!TEMP_DIR) throw new Error("TEMP_DIR is not set: mount the node's shared temp dir with envName TEMP_DIR");

const stats = { processed: 0, fromTemp: 0, uploaded: 0, byteMismatches: 0 };

/** Stands in for the DNN: hashing rounds over the chunk, and "objects" derived from the digest. */
function infer(data) {
  let digest = Buffer.alloc(0);
  for (let round = 0; round < INFER_ROUNDS; round++)
    digest = createHash("sha256").update(digest).update(data).digest();
  return { model: "stand-in-detector", objects: digest[0] % 8, confidence: digest[1] / 255 };
}

async function toDistributor(path, value) {
  const cloud = await cloudNode();
  const port = await servicePort(DISTRIBUTOR);
  return jsonOf(await meshRequest(cloud, port, path, { method: "POST", ...jsonBody(value) }), "distributor");
}

serve({
  "GET /health": (_req, res) => send(res, 200, "ok"),
  "GET /stats": (_req, res) => send(res, 200, { worker: WORKER, ...stats, misrouted: misrouted.count }),
  "POST /process": async (req, res) => {
    const arrivedAt = Date.now();
    const body = await readBody(req);
    let task;
    let data;
    let transfer;
    if ((req.headers["content-type"] ?? "").startsWith("multipart/")) {
      const parts = parseMultipart(body, req.headers["content-type"]);
      task = JSON.parse(parts.get("data")?.data.toString() ?? "null");
      data = parts.get("file")?.data;
      transfer = "upload";
      stats.uploaded++;
    } else {
      task = JSON.parse(body.toString());
      // Only a file name, and only in this node's temp dir.
      if (typeof task?.file !== "string" || basename(task.file) !== task.file)
        return send(res, 400, {
          error: "expected a task with file: the chunk's name in the shared temp dir",
        });
      try {
        data = await readFile(join(TEMP_DIR, task.file));
      } catch (err) {
        return send(res, 404, { error: `chunk ${task.file} is not in ${TEMP_DIR} on ${NODE}: ${err.code}` });
      }
      transfer = "temp";
      stats.fromTemp++;
    }
    if (!task?.taskId || !data)
      return send(res, 400, { error: "expected the parts data (the task) and file (the chunk)" });
    const addressedNode = req.headers[NODE_HEADER] ?? null;
    if (sha256(data) !== task.sha256 || data.length !== task.size) {
      stats.byteMismatches++;
      await toDistributor("/events", {
        kind: "byte-mismatch",
        stage: `controller→processor (${transfer})`,
        taskId: task.taskId,
        node: NODE,
      }).catch(() => {});
      return send(res, 422, { error: `task ${task.taskId}: the chunk does not match its sha256 or size` });
    }
    const inference = infer(data);
    const result = {
      taskId: task.taskId,
      source: task.source,
      runId: task.runId,
      seq: task.seq,
      size: task.size,
      controller: task.controller,
      attempt: task.attempt,
      transfer,
      addressedNode,
      node: NODE,
      worker: WORKER,
      pid: process.pid,
      inference,
      timestamps: {
        generated: task.generatedAt,
        received: task.receivedAt,
        scheduled: task.scheduledAt,
        arrived: arrivedAt,
        processed: Date.now(),
      },
    };
    // At least once: the controller sends the task again unless it gets this answer.
    await retryUntil(Date.now() + 10_000, () => toDistributor("/result", result));
    stats.processed++;
    if (transfer === "temp") await rm(join(TEMP_DIR, task.file), { force: true });
    send(res, 200, result);
  },
});
log("processor ready", { temp: TEMP_DIR, inferRounds: INFER_ROUNDS });
