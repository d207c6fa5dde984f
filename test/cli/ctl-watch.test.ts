// get -w, events -f, -l and -o jsonpath/wide as processes against a scripted API: a watch prints
// the rows that change and exits 0 on Ctrl-C; events -f prints the backlog, then live events that
// match --node.
import { afterAll, expect, test } from "bun:test";
import { cleanEnv, leveeCommand, REPO_ROOT, runLevee } from "../harness/cluster.ts";

let phase = "Ready";
let pushEvent: ((data: string) => void) | undefined;
const node = (name: string, p: string, labels: Record<string, string> = {}) => ({
  metadata: { name, labels, creationTimestamp: new Date().toISOString() },
  status: {
    phase: p,
    lastSeen: new Date().toISOString(),
    addresses: [],
    agentVersion: "1.2.3",
    arch: "arm64",
    plan: { appliedRevision: 1, desiredRevision: 1 },
  },
});
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  idleTimeout: 30,
  fetch(req) {
    const url = new URL(req.url);
    if (url.pathname === "/api/v1/nodes")
      return Response.json({ items: [node("edge1", phase, { role: "camera" }), node("edge2", "Ready")] });
    if (url.pathname === "/api/v1/events") {
      const enc = new TextEncoder();
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          const send = (data: string) => controller.enqueue(enc.encode(`event: event\ndata: ${data}\n\n`));
          send(
            JSON.stringify({
              id: 1,
              ts: new Date().toISOString(),
              kind: "Node",
              name: "edge1",
              reason: "Joined",
              message: "",
            }),
          );
          send(
            JSON.stringify({
              id: 2,
              ts: new Date().toISOString(),
              kind: "Node",
              name: "edge2",
              reason: "Joined",
              message: "",
            }),
          );
          pushEvent = send;
        },
      });
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    }
    return Response.json({ error: "no" }, { status: 404 });
  },
});
afterAll(() => server.stop(true));
const SERVER = `http://127.0.0.1:${server.port}`;

/** Starts `levee ctl ARGS`, collects stdout, and returns a way to wait for text and to interrupt it. */
function start(args: string[]) {
  const proc = Bun.spawn([...leveeCommand(), "ctl", ...args, "--server", SERVER, "--token", "t"], {
    env: { ...process.env, ...cleanEnv() },
    cwd: REPO_ROOT,
    stdout: "pipe",
    stderr: "pipe",
  });
  let out = "";
  const reading = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of proc.stdout) out += decoder.decode(chunk);
  })();
  return {
    output: () => out,
    async waitFor(text: string, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      while (!out.includes(text)) {
        if (Date.now() > until) throw new Error(`no ${JSON.stringify(text)} in ${JSON.stringify(out)}`);
        await Bun.sleep(50);
      }
    },
    async interrupt() {
      proc.kill("SIGINT");
      const code = await proc.exited;
      await reading;
      return code;
    },
  };
}

test("get nodes -w: the table, then the row of a node whose phase changed; Ctrl-C exits 0", async () => {
  phase = "Ready";
  const w = start(["get", "nodes", "-w"]);
  await w.waitFor("edge2");
  await Bun.sleep(1500); // ages and last-seen tick: no new rows
  expect(w.output().trimEnd().split("\n")).toHaveLength(3);
  phase = "Disconnected";
  await w.waitFor("Disconnected");
  expect(await w.interrupt()).toBe(0);
  const lines = w.output().trimEnd().split("\n");
  expect(lines).toHaveLength(4);
  expect(lines[3]).toMatch(/^edge1 +Disconnected /);
}, 20_000);

test("events -f --node edge1: the matching backlog, then live events; Ctrl-C exits 0", async () => {
  const f = start(["events", "-f", "--node", "edge1"]);
  await f.waitFor("Joined");
  pushEvent?.(
    JSON.stringify({
      id: 3,
      ts: new Date().toISOString(),
      kind: "Node",
      name: "edge2",
      reason: "Lost",
      message: "",
    }),
  );
  pushEvent?.(
    JSON.stringify({
      id: 4,
      ts: new Date().toISOString(),
      kind: "Service",
      name: "web",
      reason: "Restarted",
      message: "worker 0 on node edge1 (restart 1)",
    }),
  );
  await f.waitFor("Restarted");
  expect(await f.interrupt()).toBe(0);
  const out = f.output();
  expect(out).toMatch(/^AGE +KIND +NAME +REASON +MESSAGE\n/);
  expect(out).toMatch(/\n\S+ +Node +edge1 +Joined/);
  expect(out).not.toContain("edge2");
  expect(out).toMatch(/\n\S+ +Service +web +Restarted +worker 0 on node edge1 \(restart 1\)\n$/);
}, 20_000);

test("get -l, -o jsonpath, -o wide", async () => {
  const ctl = (...args: string[]) => runLevee(["ctl", ...args, "--server", SERVER, "--token", "t"]);
  phase = "Ready";
  const selected = await ctl("get", "nodes", "-l", "role=camera", "-o", "jsonpath={.items[*].metadata.name}");
  expect(selected).toMatchObject({ code: 0, stdout: "edge1", stderr: "" });
  const others = await ctl("get", "nodes", "-l", "!role", "-o", "jsonpath={.items[*].metadata.name}");
  expect(others.stdout).toBe("edge2");
  const wide = await ctl("get", "nodes", "-o", "wide");
  expect(wide.stdout.split("\n")[0]).toMatch(/ VERSION +ARCH +LABELS$/);
  expect(wide.stdout.split("\n")[1]).toMatch(/ 1\.2\.3 +arm64 +role=camera$/);
  const workers = await ctl("get", "workers", "-l", "a=b");
  expect(workers).toMatchObject({ code: 2 });
  expect(workers.stderr).toContain("workers have no labels");
});
