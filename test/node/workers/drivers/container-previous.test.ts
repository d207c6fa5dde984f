// A container worker's run before the last restart (`levee ctl logs --previous`): Docker forgets a
// removed container's log, so the driver keeps it, timed, in the worker's previous.log when stop()
// removes the container and when the next start() removes one that exited; read back with exact
// since and timestamps per line, tail counted after since.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ContainerDriver } from "../../../../src/node/workers/drivers/container-driver.ts";
import { readKeptContainerLog } from "../../../../src/node/workers/logs/timed-lines.ts";
import { dockerSkipReason } from "../../../harness/docker.ts";
import { containerFixture, testInstanceKey } from "../../../harness/docker-fixture.ts";
import { collect } from "../logs/collect.ts";

const skip = await dockerSkipReason();
if (skip) console.warn(`skipping the container --previous tests: ${skip}`);

describe.skipIf(skip !== undefined)("container driver: the log of the run before", () => {
  const f = containerFixture("previous");
  let driver: ContainerDriver;
  let logDir: string;
  beforeAll(async () => {
    await f.setup();
    logDir = f.freshDir("logs");
    driver = new ContainerDriver({
      socket: f.docker.socket,
      previousLog: () => join(logDir, "previous.log"),
    });
  }, 120_000);
  afterAll(() => f.cleanup());

  test("stop() keeps the log; since and timestamps are exact per line; tail counts after since", async () => {
    const key = testInstanceKey();
    const first = await f.start(
      f.launch(
        { command: ["sh", "-c", "echo one; sleep 1.2; echo two; echo three; exec sleep 3600"] },
        { key },
      ),
      driver,
    );
    let logged = "";
    const deadline = Date.now() + 10_000;
    while (!logged.includes("three") && Date.now() < deadline) {
      await Bun.sleep(100);
      logged = await collect(driver.logs(first.ref, { timestamps: true }));
    }
    await first.stop(0);
    expect(existsSync(join(logDir, "previous.log"))).toBe(true);
    expect(await collect(readKeptContainerLog(logDir, {}))).toBe("one\ntwo\nthree\n");
    expect(await collect(readKeptContainerLog(logDir, { timestamps: true }))).toBe(logged);
    const two = Date.parse(logged.split("\n")[1]?.split(" ")[0] ?? "");
    expect(await collect(readKeptContainerLog(logDir, { since: new Date(two - 300) }))).toBe("two\nthree\n");
    expect(await collect(readKeptContainerLog(logDir, { since: new Date(two - 300), tail: 1 }))).toBe(
      "three\n",
    );
    expect(await collect(readKeptContainerLog(logDir, { tail: 2 }))).toBe("two\nthree\n");
  }, 30_000);

  test("the next start() keeps the log of a container that exited on its own", async () => {
    const key = testInstanceKey();
    const crashed = await f.start(
      f.launch({ command: ["sh", "-c", "echo crashed; exit 3"] }, { key }),
      driver,
    );
    await crashed.exited;
    const next = await f.start(f.launch({ command: ["sleep", "3600"] }, { key }), driver);
    expect(await collect(readKeptContainerLog(logDir, {}))).toBe("crashed\n");
    await next.stop(0);
  }, 30_000);
});
