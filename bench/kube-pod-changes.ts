// The pod-change trials of bench/kube-api.ts: per trial one worker process of a Dayu pod on the
// edge is SIGKILLed (a different pod each time) and the time from the kill to that pod's first
// MODIFIED event is taken on two open watches (the cloud's listener and the edge's). With `poll`,
// the edge agent's GET /v1/workers and the cloud's GET /api/v1/workers are read every 5 ms as well,
// for when the node noticed the exit and when the cloud had stored the node's status. Between
// trials it waits until the worker runs again (restarted after its backoff), and a little more.
import { readFileSync } from "node:fs";
import type { Watch, WatchEvent } from "./kube-watch.ts";

// biome-ignore lint/suspicious/noExplicitAny: Kubernetes JSON, read by path
type Any = any;

export interface Trial {
  pod: string;
  /** ms from the kill to the event on the cloud's listener, on the edge's. */
  cloud: number;
  edge: number;
  /** With polling: the node's agent showed the exit; the cloud's API showed the node's status. */
  noticed?: number;
  stored?: number;
  /** The container state the edge's event showed (CrashLoopBackOff, or running when it was missed). */
  shown: string;
}

export interface TrialOptions {
  /** One trial per pod (Pod objects as listed). */
  pods: Any[];
  watches: { cloud: Watch; edge: Watch };
  /** http://ADDRESS:7401, http://ADDRESS:7400 */
  edgeAgent: string;
  cloudApi: string;
  adminToken: string;
  poll: boolean;
}

interface WorkerRow {
  service: string;
  index: number;
  phase: string;
  restarts: number;
  pid?: number | null;
}
const workerRows = async (url: string, token?: string): Promise<WorkerRow[]> =>
  ((await (await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {})).json()) as Any)
    .items;

export async function podChangeTrials(options: TrialOptions): Promise<Trial[]> {
  const { watches, adminToken, poll } = options;
  const trials: Trial[] = [];
  for (const pod of options.pods) {
    const [service, , index] = String(pod.status.containerStatuses[0].containerID)
      .replace("levee://", "")
      .split("/");
    const edgeUrl = `${options.edgeAgent}/v1/workers?service=${service}`;
    const cloudUrl = `${options.cloudApi}/api/v1/workers?service=${service}&node=${pod.spec.nodeName}`;
    const mine = (rows: WorkerRow[]) => rows.find((w) => w.index === Number(index));
    const before = mine(await workerRows(edgeUrl));
    if (!before?.pid) throw new Error(`no pid for ${service}/${index}`);
    const comm = readFileSync(`/proc/${before.pid}/comm`, "utf8").trim();
    if (comm !== "sleep") throw new Error(`${service}/${index}: pid ${before.pid} is ${comm}, not sleep`);
    const changed = (w: WorkerRow | undefined) =>
      w !== undefined && (w.restarts > before.restarts || (w.phase !== "running" && w.phase !== "ready"));
    const marks = { cloud: watches.cloud.length(), edge: watches.edge.length() };
    const polls: { noticed?: number; stored?: number } = {};
    let polling = poll;
    const pollLoop = async (key: "noticed" | "stored", read: () => Promise<WorkerRow[]>) => {
      while (polling && polls[key] === undefined) {
        const started = performance.now();
        if (changed(mine(await read()))) polls[key] = started;
        await Bun.sleep(5);
      }
    };
    const loops = [
      pollLoop("noticed", () => workerRows(edgeUrl)),
      pollLoop("stored", () => workerRows(cloudUrl, adminToken)),
    ];
    const killedAt = performance.now();
    process.kill(before.pid, "SIGKILL");
    const isPod = (e: WatchEvent) => e.type === "MODIFIED" && e.object.metadata.name === pod.metadata.name;
    const [cloudEvent, edgeEvent] = await Promise.all([
      watches.cloud.next(marks.cloud, isPod, 10_000),
      watches.edge.next(marks.edge, isPod, 10_000),
    ]);
    await Promise.race([Promise.all(loops), Bun.sleep(2000)]);
    polling = false;
    await Promise.all(loops);
    const state = edgeEvent.object.status.containerStatuses[0].state;
    trials.push({
      pod: pod.metadata.name,
      cloud: cloudEvent.at - killedAt,
      edge: edgeEvent.at - killedAt,
      ...(polls.noticed !== undefined ? { noticed: polls.noticed - killedAt } : {}),
      ...(polls.stored !== undefined ? { stored: polls.stored - killedAt } : {}),
      shown: state.waiting?.reason ?? Object.keys(state)[0] ?? "?",
    });
    // Until the worker runs again (and its restart has reached both watches), then a pause.
    const deadline = performance.now() + 60_000;
    for (;;) {
      const w = mine(await workerRows(edgeUrl));
      if (w?.phase === "running" || w?.phase === "ready") break;
      if (performance.now() > deadline) throw new Error(`${service}/${index} did not run again`);
      await Bun.sleep(100);
    }
    await Bun.sleep(600);
  }
  return trials;
}
