// The Docker Engine API client against a real dockerd (test/harness/docker.ts), its stats read as
// the usage sampler reads them, and the demultiplexer of Docker's log stream format on its own.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { parseDockerStats } from "../../../../src/node/usage/docker-stats.ts";
import {
  type ContainerCreateBody,
  DockerApiError,
  DockerClient,
  DockerUnreachableError,
} from "../../../../src/node/workers/drivers/docker-client.ts";
import { Demultiplexer } from "../../../../src/node/workers/drivers/docker-stream.ts";
import { WorkerSpecError } from "../../../../src/node/workers/drivers/driver.ts";
import { dockerSkipReason, ensureDocker, type TestDocker } from "../../../harness/docker.ts";

function frame(stream: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + payload.length);
  out[0] = stream;
  new DataView(out.buffer).setUint32(4, payload.length);
  out.set(payload, 8);
  return out;
}

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);

describe("Demultiplexer", () => {
  const big = new Uint8Array(70_000).map((_, i) => (i * 7) & 0xff);
  const payloads = [bytes("line 1\n"), bytes(""), bytes("err \u00e9\n"), big, new Uint8Array([0, 1, 2, 255])];
  const stream = Buffer.concat(payloads.map((p, i) => frame(i % 2 === 0 ? 1 : 2, p)));

  test("reassembles frames from chunks split at every possible byte", () => {
    for (const cut of [1, 2, 7, 8, 9, 15, 16, 17, 100, 69_999, 70_015, stream.length - 1]) {
      const demux = new Demultiplexer();
      const frames = [...demux.push(stream.subarray(0, cut)), ...demux.push(stream.subarray(cut))];
      expect(frames.map((f) => f.stream)).toEqual(["stdout", "stderr", "stdout", "stderr", "stdout"]);
      expect(frames.map((f) => Buffer.from(f.data).toString("hex"))).toEqual(
        payloads.map((p) => Buffer.from(p).toString("hex")),
      );
      expect(demux.pending).toBe(0);
    }
  });

  test("one byte at a time", () => {
    const demux = new Demultiplexer();
    const out: Uint8Array[] = [];
    for (let i = 0; i < 200; i++) out.push(...demux.push(stream.subarray(i, i + 1)).map((f) => f.data));
    expect(out.map(text).slice(0, 3)).toEqual(["line 1\n", "", "err \u00e9\n"]);
    expect(demux.pending).toBeGreaterThan(0); // inside the big frame
  });

  test("a header that is not Docker's is an error, not garbage output", () => {
    expect(() => new Demultiplexer().push(bytes("hello world, no header"))).toThrow(
      /malformed Docker stream/,
    );
  });
});

describe("DockerClient without a daemon", () => {
  test("an unreachable socket is a DockerUnreachableError naming the socket", async () => {
    const client = new DockerClient({ socket: "/tmp/levee-no-such-docker.sock" });
    const err = await client.ping().catch((e) => e);
    expect(err).toBeInstanceOf(DockerUnreachableError);
    expect(err.message).toContain("unix:///tmp/levee-no-such-docker.sock");
    expect(err.message).toContain("is dockerd installed and running?");
  });

  test("a socket nobody listens on", async () => {
    const path = `/tmp/levee-test-${randomUUID().slice(0, 8)}.sock`;
    await Bun.write(path, ""); // a plain file where the socket should be: the connection is refused
    const err = await new DockerClient({ socket: path }).version().catch((e) => e);
    expect(err).toBeInstanceOf(DockerUnreachableError);
    expect(err.message).toContain(path);
    await Bun.file(path).delete();
  });
});

const skip = await dockerSkipReason();
if (skip) console.warn(`skipping the Docker client tests: ${skip}`);

describe.skipIf(skip !== undefined)("DockerClient against a real dockerd", () => {
  let docker: TestDocker;
  let client: DockerClient;
  const run = randomUUID();
  const created: string[] = [];

  beforeAll(async () => {
    docker = await ensureDocker();
    client = docker.client;
  }, 120_000);

  afterAll(async () => {
    for (const id of created) await client?.removeContainer(id, { force: true });
  });

  function body(cmd: string[], labels: Record<string, string> = {}): ContainerCreateBody {
    return {
      Image: docker.image,
      Cmd: cmd,
      Env: [],
      Labels: { "levee-test.run": run, ...labels },
      Tty: false,
      OpenStdin: false,
      AttachStdin: false,
      AttachStdout: false,
      AttachStderr: false,
      HostConfig: {
        NetworkMode: "host",
        RestartPolicy: { Name: "no" },
        Privileged: false,
        Mounts: [],
        Devices: [],
      },
    };
  }

  async function startContainer(cmd: string[], labels: Record<string, string> = {}): Promise<string> {
    const id = await client.createContainer(`levee-test-${randomUUID().slice(0, 12)}`, body(cmd, labels));
    created.push(id);
    await client.startContainer(id);
    return id;
  }

  async function collect(iterable: AsyncIterable<Uint8Array>): Promise<string> {
    const parts: Uint8Array[] = [];
    for await (const chunk of iterable) parts.push(chunk);
    return Buffer.concat(parts).toString("utf8");
  }

  test("version: the pinned API version is supported", async () => {
    await client.ping();
    const version = await client.version();
    const [major, minor] = version.ApiVersion.split(".").map(Number);
    expect(major).toBe(1);
    expect(minor).toBeGreaterThanOrEqual(41);
  });

  test("images: present and missing", async () => {
    expect((await client.inspectImage(docker.image))?.Id).toStartWith("sha256:");
    expect(await client.inspectImage("levee-test/no-such-image:9")).toBeUndefined();
    const err = await client
      .createContainer(`levee-test-${randomUUID().slice(0, 8)}`, {
        ...body(["true"]),
        Image: "levee-test/no-such-image:9",
      })
      .catch((e) => e);
    expect(err).toBeInstanceOf(WorkerSpecError);
    expect(err.message).toContain('image "levee-test/no-such-image:9" is not on this node');
  });

  test("create, start, wait, inspect, logs, remove", async () => {
    const id = await startContainer(["sh", "-c", "echo out; echo err >&2; exit 7"], { role: "lifecycle" });
    expect((await client.waitContainer(id)).StatusCode).toBe(7);
    const info = await client.inspectContainer(id);
    expect(info?.State.Running).toBe(false);
    expect(info?.State.ExitCode).toBe(7);
    expect(info?.Config.Labels?.role).toBe("lifecycle");
    expect(info?.HostConfig.NetworkMode).toBe("host");
    const all = await collect(client.logs(id));
    expect(all.split("\n").sort()).toEqual(["", "err", "out"]);
    expect(await collect(client.logs(id, { stderr: false }))).toBe("out\n");
    expect(await client.removeContainer(id)).toBe(true);
    expect(await client.removeContainer(id)).toBe(false);
    expect(await client.inspectContainer(id)).toBeUndefined();
    const err = await client.startContainer(id).catch((e) => e);
    expect(err).toBeInstanceOf(DockerApiError);
    expect(err.status).toBe(404);
    expect(err.message).toContain("No such container");
  }, 30_000);

  test("list by label", async () => {
    const tag = randomUUID();
    const a = await startContainer(["sleep", "30"], { "levee-test.tag": tag });
    const b = await startContainer(["true"], { "levee-test.tag": tag });
    await startContainer(["true"], { "levee-test.tag": "other" });
    await client.waitContainer(b);
    const running = await client.listContainers({ labels: { "levee-test.tag": tag } });
    expect(running.map((c) => c.Id)).toEqual([a]);
    const all = await client.listContainers({ labels: { "levee-test.tag": tag }, all: true });
    expect(all.map((c) => c.Id).sort()).toEqual([a, b].sort());
    expect(all.find((c) => c.Id === b)?.State).toBe("exited");
    const anyTag = await client.listContainers({
      labels: { "levee-test.tag": undefined, "levee-test.run": run },
    });
    expect(anyTag.map((c) => c.Id)).toContain(a);
    await client.removeContainer(a, { force: true });
  }, 30_000);

  test("kill with a signal; a stopped container is not an error", async () => {
    const id = await startContainer([
      "sh",
      "-c",
      'trap "echo got HUP" HUP; echo ready; while :; do sleep 0.05; done',
    ]);
    await waitForLog(client, id, "ready");
    expect(await client.killContainer(id, "SIGHUP")).toBe(true);
    await waitForLog(client, id, "got HUP");
    expect(await client.killContainer(id, "SIGKILL")).toBe(true);
    expect((await client.waitContainer(id)).StatusCode).toBe(137);
    expect(await client.killContainer(id, "SIGHUP")).toBe(false);
    expect(await client.killContainer("levee-no-such-container", "SIGHUP")).toBe(false);
  }, 30_000);

  test("stop: SIGTERM ignored (PID 1) → SIGKILL after the timeout; idempotent", async () => {
    const id = await startContainer(["sh", "-c", "echo ready; while :; do sleep 0.05; done"]);
    await waitForLog(client, id, "ready");
    const started = performance.now();
    expect(await client.stopContainer(id, 1)).toBe("stopped");
    expect(performance.now() - started).toBeGreaterThanOrEqual(900);
    expect((await client.inspectContainer(id))?.State.ExitCode).toBe(137);
    expect(await client.stopContainer(id, 1)).toBe("not-running");
    await client.removeContainer(id);
    expect(await client.stopContainer(id, 1)).toBe("gone");
  }, 30_000);

  test("stats: one read of a busy container's counters (CPU time grows, memory above zero); none for a missing one", async () => {
    const id = await startContainer([
      "sh",
      "-c",
      "while :; do i=0; while [ $i -lt 2000 ]; do i=$((i+1)); done; sleep 0.05; done",
    ]);
    const first = parseDockerStats(await client.containerStats(id));
    await Bun.sleep(500);
    const second = parseDockerStats(await client.containerStats(id));
    expect(first?.memoryBytes).toBeGreaterThan(0);
    expect(second?.cpuNanoseconds ?? 0).toBeGreaterThan(first?.cpuNanoseconds ?? 0);
    expect(await client.containerStats("levee-no-such-container")).toBeUndefined();
  }, 30_000);

  test("logs: tail, control bytes and UTF-8, follow until the container ends", async () => {
    const id = await startContainer([
      "sh",
      "-c",
      "for i in 1 2 3 4 5 6 7 8 9 10; do echo line $i; done; printf '\\000\\001 \\303\\251\\n'; for i in 1 2 3; do sleep 0.1; echo late $i >&2; done",
    ]);
    const followed = await collect(client.logs(id, { follow: true }));
    expect(followed).toContain("line 1\nline 2\n");
    expect(followed).toEndWith("late 3\n");
    const tail = await collect(client.logs(id, { tail: 4 }));
    expect(tail).toBe("\u0000\u0001 \u00e9\nlate 1\nlate 2\nlate 3\n");
    // Byte-exact for UTF-8 (json-file stores lines as JSON strings: invalid UTF-8 becomes U+FFFD).
    const raw: Uint8Array[] = [];
    for await (const chunk of client.logs(id, { stderr: false, tail: 4 })) raw.push(chunk);
    expect([...Buffer.concat(raw)]).toEqual([0, 1, 32, 0xc3, 0xa9, 10]);
  }, 30_000);

  test("logs: since and timestamps are Docker's, per line", async () => {
    const id = await startContainer(["sh", "-c", "echo early; sleep 1.5; echo late; sleep 3600"]);
    let all = "";
    const deadline = Date.now() + 10_000;
    while (!all.includes("late") && Date.now() < deadline) {
      await Bun.sleep(100);
      all = await collect(client.logs(id, { timestamps: true }));
    }
    const lines = all.split("\n").filter(Boolean);
    expect(lines.map((l) => l.split(" ")[1])).toEqual(["early", "late"]);
    const late = Date.parse(lines[1]?.split(" ")[0] ?? "");
    expect(late).toBeGreaterThan(Date.now() - 10_000);
    expect(await collect(client.logs(id, { since: new Date(late - 500) }))).toBe("late\n");
  }, 30_000);

  test("logs: follow ends quietly when aborted", async () => {
    const id = await startContainer([
      "sh",
      "-c",
      "i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.05; done",
    ]);
    const abort = new AbortController();
    let seen = "";
    for await (const chunk of client.logs(id, { follow: true, signal: abort.signal })) {
      seen += text(chunk);
      if (seen.includes("tick 3\n")) abort.abort();
    }
    expect(seen).toContain("tick 1\ntick 2\ntick 3\n");
    expect((await client.inspectContainer(id))?.State.Running).toBe(true);
    await client.removeContainer(id, { force: true });
  }, 30_000);

  test("logs of a missing container", async () => {
    const err = await collect(client.logs("levee-no-such-container")).catch((e) => e);
    expect(err).toBeInstanceOf(DockerApiError);
    expect(err.status).toBe(404);
  });
});

async function waitForLog(client: DockerClient, id: string, needle: string): Promise<void> {
  const deadline = performance.now() + 10_000;
  while (performance.now() < deadline) {
    let all = "";
    for await (const chunk of client.logs(id)) all += text(chunk);
    if (all.includes(needle)) return;
    await Bun.sleep(25);
  }
  throw new Error(`container ${id} never logged ${JSON.stringify(needle)}`);
}
