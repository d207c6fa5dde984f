// A container worker's counters from a real dockerd (test/harness/docker.ts): Docker's one-shot
// stats read through the host readers give a CPU time that grows while the container burns and a
// memory above zero; a container that is gone has none.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { hostReaders } from "../../../src/node/usage/host-readers.ts";
import { dockerSkipReason, ensureDocker, type TestDocker } from "../../harness/docker.ts";

const skip = await dockerSkipReason();
if (skip) console.warn(`skipping the container usage tests: ${skip}`);

describe.skipIf(skip !== undefined)("container usage against a real dockerd", () => {
  let docker: TestDocker;
  let id = "";

  beforeAll(async () => {
    docker = await ensureDocker();
    id = await docker.client.createContainer(`levee-test-usage-${randomUUID().slice(0, 12)}`, {
      Image: docker.image,
      Cmd: ["sh", "-c", "while :; do i=0; while [ $i -lt 2000 ]; do i=$((i+1)); done; sleep 0.05; done"],
      Env: [],
      Labels: { "levee-test.usage": "1" },
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
    });
    await docker.client.startContainer(id);
  }, 120_000);

  afterAll(async () => {
    if (id) await docker.client.removeContainer(id, { force: true });
  });

  test("CPU time grows, memory is above zero; a container that does not exist has none", async () => {
    const readers = hostReaders({ dockerSocket: docker.socket });
    const first = await readers.container(id);
    await Bun.sleep(500);
    const second = await readers.container(id);
    expect(first?.memoryBytes).toBeGreaterThan(0);
    expect(second?.cpuNanoseconds ?? 0).toBeGreaterThan(first?.cpuNanoseconds ?? 0);
    expect(await readers.container(`no-such-${randomUUID()}`)).toBeUndefined();
  }, 30_000);
});
