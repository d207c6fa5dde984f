// monitor (one per node; Dayu's monitor): every INTERVAL seconds reads the node's CPU use
// (/proc/stat, since the last report), memory (/proc/meminfo) and load (/proc/loadavg) and posts
// them to the distributor on the cloud through the mesh.
import { readFileSync } from "node:fs";
import { cloudNode, envInt, jsonBody, jsonOf, log, meshRequest, NODE, servicePort } from "./lib.mjs";

const INTERVAL = envInt("INTERVAL", 3);
const DISTRIBUTOR = process.env.DISTRIBUTOR_SERVICE ?? "distributor";

function cpuTimes() {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = fields[3] + (fields[4] ?? 0);
  return { idle, total: fields.reduce((a, b) => a + b, 0) };
}

function memory() {
  const info = Object.fromEntries(
    readFileSync("/proc/meminfo", "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => {
        const [key, value] = line.split(":");
        return [key, Number.parseInt(value, 10)];
      }),
  );
  const totalMiB = Math.round(info.MemTotal / 1024);
  return { totalMiB, usedMiB: Math.round((info.MemTotal - info.MemAvailable) / 1024) };
}

let last = cpuTimes();

async function report() {
  const now = cpuTimes();
  const total = now.total - last.total;
  const cpuPercent = total > 0 ? Math.round((1000 * (total - (now.idle - last.idle))) / total) / 10 : 0;
  last = now;
  const load1 = Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
  const value = { node: NODE, cpuPercent, memory: memory(), load1, at: Date.now() };
  try {
    const cloud = await cloudNode();
    const port = await servicePort(DISTRIBUTOR);
    jsonOf(
      await meshRequest(cloud, port, "/resources", { method: "POST", ...jsonBody(value) }),
      "distributor",
    );
  } catch (err) {
    log("report failed", { error: err.message });
  }
}

setInterval(report, INTERVAL * 1000);
process.on("SIGTERM", () => process.exit(0));
log("monitoring", { intervalSeconds: INTERVAL });
