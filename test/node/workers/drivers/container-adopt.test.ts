// The container driver across agent restarts, against a real dockerd: adopt() finds the same
// running container by id and labels, orphans() finds this agent's unknown ones, a new start of a
// worker clears its stopped leftovers, and the exit watch survives dropped daemon connections.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { ContainerDriver } from "../../../../src/node/workers/drivers/container-driver.ts";
import { DockerClient } from "../../../../src/node/workers/drivers/docker-client.ts";
import { dockerSkipReason } from "../../../harness/docker.ts";
import { containerFixture, testInstanceKey } from "../../../harness/docker-fixture.ts";
import { waitUntil } from "../../../harness/process.ts";

const skip = await dockerSkipReason();
if (skip) console.warn(`skipping the container adoption tests: ${skip}`);

describe.skipIf(skip !== undefined)("container driver: adoption, orphans, lost connections", () => {
  const f = containerFixture("container-adopt");
  beforeAll(f.setup, 120_000);
  afterAll(f.cleanup);

  test("adopt after an agent restart: the same container, only if it runs and its labels match", async () => {
    const spec = f.launch({ command: ["sh", "-c", "echo ready; while :; do sleep 0.05; done"] });
    const first = await f.start(spec);
    const ref = structuredClone(first.ref);
    // "the agent restarts": a new driver and client; the old instance object is forgotten
    const restarted = new ContainerDriver({ client: new DockerClient({ socket: f.docker.socket }) });
    const adopted = await restarted.adopt(ref);
    expect(adopted?.ref).toEqual(ref);
    expect(await restarted.adopt({ ...ref, key: { ...ref.key, instance: randomUUID() } })).toBeUndefined();
    expect(await restarted.adopt({ ...ref, driver: "exec" })).toBeUndefined();
    expect(await restarted.adopt({ ...ref, containerId: "0".repeat(64) })).toBeUndefined();
    // the adopted instance sees the exit and stops the container
    await adopted?.signal("SIGKILL");
    expect(await adopted?.exited).toEqual({ exitCode: 137, signal: "SIGKILL" });
    expect(await first.exited).toEqual({ exitCode: 137, signal: "SIGKILL" });
    expect(await restarted.adopt(ref)).toBeUndefined(); // it no longer runs
    await adopted?.stop(1000);
    expect(await restarted.adopt(ref)).toBeUndefined(); // it is gone
  }, 30_000);

  test("orphans: this agent's running containers that are not known; stopped unknown ones are removed", async () => {
    const agentA = `${f.agentPrefix}/orphans-a`;
    const agentB = `${f.agentPrefix}/orphans-b`;
    const loop = ["sh", "-c", "while :; do sleep 0.05; done"];
    const known = await f.start(
      f.launch({ command: loop }, { agentId: agentA, key: testInstanceKey({ index: 0 }) }),
    );
    const lost = await f.start(
      f.launch({ command: loop }, { agentId: agentA, key: testInstanceKey({ index: 1 }) }),
    );
    const knownById = await f.start(
      f.launch({ command: loop }, { agentId: agentA, key: testInstanceKey({ index: 2 }) }),
    );
    const ended = await f.start(
      f.launch({ command: ["true"] }, { agentId: agentA, key: testInstanceKey({ index: 3 }) }),
    );
    const otherAgent = await f.start(
      f.launch({ command: loop }, { agentId: agentB, key: testInstanceKey({ index: 1 }) }),
    );
    await ended.exited;
    const orphans = await f.driver.orphans(
      agentA,
      new Set([known.ref.key.instance, knownById.ref.containerId as string]),
    );
    expect(orphans).toEqual([lost.ref]);
    expect(await f.docker.client.inspectContainer(ended.ref.containerId as string)).toBeUndefined();
    expect((await f.driver.orphans(agentB, new Set())).map((r) => r.containerId)).toEqual([
      otherAgent.ref.containerId,
    ]);
    // what the supervisor does with an orphan: adopt it and stop it
    await (await f.driver.adopt(orphans[0] as (typeof orphans)[0]))?.stop(0);
    expect(
      await f.driver.orphans(agentA, new Set([known.ref.key.instance, knownById.ref.key.instance])),
    ).toEqual([]);
  }, 30_000);

  test("a new start of a worker removes that worker's stopped containers, not running ones", async () => {
    const agentId = `${f.agentPrefix}/leftovers`;
    const slot = { service: "leftover", index: 0 };
    const crashed = await f.start(
      f.launch({ command: ["sh", "-c", "exit 1"] }, { agentId, key: testInstanceKey(slot) }),
    );
    await crashed.exited;
    const surgeOld = await f.start(
      f.launch({ command: ["sleep", "30"] }, { agentId, key: testInstanceKey(slot) }),
    );
    const other = await f.start(
      f.launch({ command: ["sh", "-c", "exit 2"] }, { agentId, key: testInstanceKey({ ...slot, index: 1 }) }),
    );
    await other.exited;
    const next = await f.start(
      f.launch({ command: ["sleep", "30"] }, { agentId, key: testInstanceKey(slot) }),
    );
    expect(await f.docker.client.inspectContainer(crashed.ref.containerId as string)).toBeUndefined();
    expect((await f.docker.client.inspectContainer(surgeOld.ref.containerId as string))?.State.Running).toBe(
      true,
    );
    expect((await f.docker.client.inspectContainer(other.ref.containerId as string))?.State.Status).toBe(
      "exited",
    );
    for (const instance of [surgeOld, next, other]) await instance.stop(0);
  }, 30_000);

  test("the exit watch survives dropped connections to the daemon", async () => {
    // A relay socket between the driver and dockerd whose connections the test can cut.
    const relayPath = join(f.dir, `relay-${randomUUID().slice(0, 8)}.sock`);
    const upstreams = new Set<{ end(): void }>();
    let opened = 0;
    const relay = Bun.listen<{ upstream?: Awaited<ReturnType<typeof Bun.connect>>; queued: Uint8Array[] }>({
      unix: relayPath,
      socket: {
        async open(client) {
          client.data = { queued: [] };
          const upstream = await Bun.connect({
            unix: f.docker.socket,
            socket: {
              data: (_, chunk) => void client.write(chunk),
              close: () => {
                client.end();
              },
            },
          });
          client.data.upstream = upstream;
          upstreams.add(client);
          opened++;
          for (const chunk of client.data.queued) upstream.write(chunk);
        },
        data(client, chunk) {
          if (client.data.upstream) client.data.upstream.write(chunk);
          else client.data.queued.push(new Uint8Array(chunk));
        },
        close(client) {
          client.data.upstream?.end();
          upstreams.delete(client);
        },
      },
    });
    try {
      const viaRelay = new ContainerDriver({ socket: relayPath });
      const instance = await f.start(
        f.launch({ command: ["sh", "-c", 'trap "exit 5" USR1; while :; do sleep 0.05; done'] }),
        viaRelay,
      );
      await waitUntil("the wait request through the relay", () => upstreams.size > 0);
      for (let cut = 0; cut < 3; cut++) {
        for (const connection of [...upstreams]) connection.end();
        await Bun.sleep(150);
        expect(
          await Promise.race([instance.exited.then(() => "exited"), Bun.sleep(50).then(() => "running")]),
        ).toBe("running");
      }
      const reopened = opened;
      await waitUntil("the watch to ask again after the cuts", () => upstreams.size > 0);
      expect(reopened).toBeGreaterThanOrEqual(4); // one wait per cut, each on a new connection
      await f.docker.client.killContainer(instance.ref.containerId as string, "SIGUSR1");
      expect(await instance.exited).toEqual({ exitCode: 5, signal: null });
      await instance.stop(0);
    } finally {
      relay.stop(true);
    }
  }, 30_000);
});
