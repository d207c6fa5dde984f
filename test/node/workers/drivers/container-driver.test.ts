// The container driver against a real dockerd (test/harness/docker.ts): host network, env byte-exact,
// mounts, user and working directory, devices and privileged, exit codes and signals, graceful and
// forced stop, bad specs, logs. Adoption and orphans: container-adopt.test.ts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Template } from "../../../../src/manifest/template.ts";
import { LABEL } from "../../../../src/node/workers/drivers/docker-spec.ts";
import { WorkerSpecError } from "../../../../src/node/workers/drivers/driver.ts";
import { dockerSkipReason } from "../../../harness/docker.ts";
import { containerFixture, testInstanceKey } from "../../../harness/docker-fixture.ts";
import { waitUntil } from "../../../harness/process.ts";

/** Whether this process's capability bounding set holds every capability the kernel has. */
function hostHasAllCapabilities(): boolean {
  const last = Number(readFileSync("/proc/sys/kernel/cap_last_cap", "utf8"));
  const bounding = /CapBnd:\s*([0-9a-f]+)/.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? "0";
  return BigInt(`0x${bounding}`) === (1n << BigInt(last + 1)) - 1n;
}

async function freePort(): Promise<number> {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = listener.port;
  listener.stop(true);
  return port;
}

const skip = await dockerSkipReason();
if (skip) console.warn(`skipping the container driver tests: ${skip}`);

describe.skipIf(skip !== undefined)("container driver against a real dockerd", () => {
  const f = containerFixture("container-driver");
  beforeAll(f.setup, 120_000);
  afterAll(f.cleanup);

  test("serves HTTP on the host network from a read-only bind mount; labels and name", async () => {
    const www = f.freshDir("www");
    writeFileSync(join(www, "index.html"), "hello from a container\n");
    const port = await freePort();
    const spec = f.launch(
      { command: ["httpd", "-f", "-p", `127.0.0.1:${port}`, "-h", "/www"] },
      {
        mounts: [{ hostPath: www, target: "/www", readOnly: true }],
        key: testInstanceKey({ service: "web", index: 2 }),
      },
    );
    const instance = await f.start(spec);
    expect(instance.ref).toEqual({ key: spec.key, driver: "container", containerId: expect.any(String) });
    let body = "";
    await waitUntil(`httpd on 127.0.0.1:${port}`, async () => {
      body = await (await fetch(`http://127.0.0.1:${port}/index.html`)).text();
      return true;
    });
    expect(body).toBe("hello from a container\n");
    const info = await f.docker.client.inspectContainer(instance.ref.containerId as string);
    expect(info?.Name).toBe(`/levee-edge-1-web-2-${spec.key.instance.slice(0, 8)}`);
    expect(info?.Config.Labels).toMatchObject({
      "levee.node": "edge-1",
      "levee.service": "web",
      "levee.index": "2",
      "levee.instance": spec.key.instance,
      "levee.agent": spec.agentId,
    });
    expect(info?.HostConfig.NetworkMode).toBe("host");
    expect(info?.HostConfig.RestartPolicy).toEqual({ Name: "no", MaximumRetryCount: 0 });
    // busybox httpd as PID 1 has no SIGTERM handler: the kernel ignores the signal, Docker kills
    expect(await instance.stop(1000)).toEqual({ exitCode: 137, signal: "SIGKILL" });
    expect(await f.docker.client.inspectContainer(instance.ref.containerId as string)).toBeUndefined();
  }, 30_000);

  test("env reaches the process byte-exact (quotes, newlines, JSON, Python literals, UTF-8)", async () => {
    const out = f.freshDir("env");
    const env = {
      JSON_CONFIG: '{"model": "yolo", "thresholds": [0.5, 0.25], "nested": {"q": "\\"quoted\\""}}',
      PY_LITERAL: "{'a': 1, 'b': [True, None], \"c\": 'it''s'}",
      MULTILINE: "first line\nsecond line\r\n\ttabbed\n",
      SHELL_META: "$HOME `id` $(id) ; | & > < * ? ~ !",
      EQUALS: "a=b==c",
      EMPTY: "",
      SPACES: "  leading and trailing  ",
      UNICODE: "温度 ✓ é",
    };
    const instance = await f.start(
      f.launch(
        { command: ["sh", "-c", "cat /proc/self/environ > /out/environ"] },
        {
          env,
          mounts: [{ hostPath: out, target: "/out", readOnly: false }],
        },
      ),
    );
    expect((await instance.exited).exitCode).toBe(0);
    const seen = new Map<string, string>();
    for (const entry of readFileSync(join(out, "environ"), "utf8").split("\0")) {
      const at = entry.indexOf("=");
      if (at > 0) seen.set(entry.slice(0, at), entry.slice(at + 1));
    }
    for (const [name, value] of Object.entries(env))
      expect({ name, value: seen.get(name) }).toEqual({ name, value });
    await instance.stop(1000);
  }, 30_000);

  test("read-only mounts are read-only; writable ones are writable", async () => {
    const ro = f.freshDir("ro");
    const rw = f.freshDir("rw");
    const instance = await f.start(
      f.launch(
        {
          command: [
            "sh",
            "-c",
            "echo x > /ro/new 2>/dev/null; echo ro=$? > /rw/result; echo y > /rw/new; echo rw=$? >> /rw/result",
          ],
        },
        {
          mounts: [
            { hostPath: ro, target: "/ro", readOnly: true },
            { hostPath: rw, target: "/rw", readOnly: false },
          ],
        },
      ),
    );
    await instance.exited;
    expect(readFileSync(join(rw, "result"), "utf8")).toBe("ro=1\nrw=0\n");
    expect(existsSync(join(ro, "new"))).toBe(false);
    expect(readFileSync(join(rw, "new"), "utf8")).toBe("y\n");
    await instance.stop(1000);
  }, 30_000);

  test("user, group, working directory; command replaces the entrypoint, args are its arguments", async () => {
    const out = f.freshDir("user", 0o777);
    const instance = await f.start(
      f.launch(
        {
          command: ["sh", "-c", 'echo "$(id -u):$(id -g) $(pwd) $0 $1" > /out/who', "arg0"],
          args: ["arg one"],
          user: 1234,
          group: 5678,
          workingDir: "/tmp",
        },
        { mounts: [{ hostPath: out, target: "/out", readOnly: false }] },
      ),
    );
    expect((await instance.exited).exitCode).toBe(0);
    expect(readFileSync(join(out, "who"), "utf8")).toBe("1234:5678 /tmp arg0 arg one\n");
    await instance.stop(1000);
    // args alone are the command (the image has no entrypoint); a user by name from /etc/passwd
    const named = await f.start(
      f.launch(
        { args: ["sh", "-c", "id -un > /out/name"], user: "worker" },
        { mounts: [{ hostPath: out, target: "/out", readOnly: false }] },
      ),
    );
    expect((await named.exited).exitCode).toBe(0);
    expect(readFileSync(join(out, "name"), "utf8")).toBe("worker\n");
    await named.stop(1000);
  }, 30_000);

  test("devices with permissions; privileged", async () => {
    const out = f.freshDir("dev");
    const mounts = [{ hostPath: out, target: "/out", readOnly: false }];
    // A device outside Docker's default allow list, so that the permissions decide.
    const device = ["/dev/loop-control", "/dev/kmsg"].find((path) => existsSync(path));
    if (!device) throw new Error("no /dev/loop-control or /dev/kmsg on this host to test devices with");
    const script = (file: string) =>
      `for mode in '<' '>'; do if (eval "exec 3\${mode}/dev/levee-dev") 2>/dev/null; then echo "$mode ok"; else echo "$mode denied"; fi; done > /out/${file}`;
    const rw = await f.start(
      f.launch({ command: ["sh", "-c", script("rw")], devices: [`${device}:/dev/levee-dev`] }, { mounts }),
    );
    const r = await f.start(
      f.launch({ command: ["sh", "-c", script("r")], devices: [`${device}:/dev/levee-dev:r`] }, { mounts }),
    );
    await Promise.all([rw.exited, r.exited]);
    expect(readFileSync(join(out, "rw"), "utf8")).toBe("< ok\n> ok\n");
    expect(readFileSync(join(out, "r"), "utf8")).toBe("< ok\n> denied\n");
    const caps = "grep CapEff /proc/self/status > /out/caps-$0";
    const plain = await f.start(f.launch({ command: ["sh", "-c", caps, "plain"] }, { mounts }));
    await plain.exited;
    const capEff = (name: string) =>
      BigInt(`0x${readFileSync(join(out, `caps-${name}`), "utf8").split(/\s+/)[1]}`);
    const privilegedSpec = f.launch(
      { command: ["sh", "-c", caps, "privileged"], privileged: true },
      { mounts },
    );
    if (hostHasAllCapabilities()) {
      const privileged = await f.start(privilegedSpec);
      await privileged.exited;
      expect(capEff("privileged")).toBeGreaterThan(capEff("plain"));
    } else {
      // A host (e.g. a sandbox VM) whose bounding set lacks a capability cannot run privileged containers.
      const err = await f.driver.start(privilegedSpec).catch((e) => e);
      expect(err).toBeInstanceOf(WorkerSpecError);
      expect(err.message).toContain("unable to apply caps");
    }
    for (const instance of [rw, r, plain]) await instance.stop(1000);
  }, 30_000);

  test("exit codes and signals; the stopped container is kept until stop() removes it", async () => {
    const three = await f.start(f.launch({ command: ["sh", "-c", "exit 3"] }));
    expect(await three.exited).toEqual({ exitCode: 3, signal: null });
    const id = three.ref.containerId as string;
    expect((await f.docker.client.inspectContainer(id))?.State.Status).toBe("exited");
    expect(await three.stop(1000)).toEqual({ exitCode: 3, signal: null });
    expect(await f.docker.client.inspectContainer(id)).toBeUndefined();
    expect(await three.stop(1000)).toEqual({ exitCode: 3, signal: null });

    const killed = await f.start(
      f.launch({ command: ["sh", "-c", "echo ready; while :; do sleep 0.05; done"] }),
    );
    await waitUntil("ready", async () => (await f.logsOf(killed)).includes("ready"));
    await killed.signal("KILL");
    expect(await killed.exited).toEqual({ exitCode: 137, signal: "SIGKILL" });
    await killed.stop(1000);
  }, 30_000);

  test("signal(): delivered by name; an unknown name is a WorkerSpecError", async () => {
    const instance = await f.start(
      f.launch({
        command: ["sh", "-c", 'trap "echo reloaded" HUP; echo ready; while :; do sleep 0.05; done'],
      }),
    );
    await waitUntil("ready", async () => (await f.logsOf(instance)).includes("ready"));
    await instance.signal("SIGHUP");
    await waitUntil("reloaded", async () => (await f.logsOf(instance)).includes("reloaded"));
    expect(instance.signal("SIGNOPE")).rejects.toThrow(WorkerSpecError);
    await instance.stop(0);
  }, 30_000);

  test("stop: graceful on SIGTERM; SIGKILL after the timeout when SIGTERM is ignored; idempotent", async () => {
    const graceful = await f.start(
      f.launch({
        command: ["sh", "-c", 'trap "echo bye; exit 0" TERM; echo ready; while :; do sleep 0.05; done'],
      }),
    );
    const stubborn = await f.start(
      f.launch({ command: ["sh", "-c", 'trap "" TERM; echo ready; while :; do sleep 0.05; done'] }),
    );
    for (const i of [graceful, stubborn])
      await waitUntil("ready", async () => (await f.logsOf(i)).includes("ready"));
    expect(await graceful.stop(10_000)).toEqual({ exitCode: 0, signal: null });
    const started = performance.now();
    const [first, second] = await Promise.all([stubborn.stop(1000), stubborn.stop(1000)]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(900);
    expect(first).toEqual({ exitCode: 137, signal: "SIGKILL" });
    expect(second).toEqual(first);
    expect(await stubborn.exited).toEqual(first);
    expect(await f.docker.client.inspectContainer(stubborn.ref.containerId as string)).toBeUndefined();
  }, 30_000);

  test("bad specs are WorkerSpecErrors naming the cause, and leave no container", async () => {
    const agentId = `${f.agentPrefix}/bad-specs`;
    const cases: [Partial<Template> & Record<string, unknown>, RegExp][] = [
      [
        { image: "levee-test/missing:7", command: ["true"] },
        /image "levee-test\/missing:7" is not on this node/,
      ],
      [{ command: ["no-such-program"] }, /exec: "no-such-program": executable file not found/],
      [{ command: ["true"], user: "nosuchuser" }, /unable to find user nosuchuser/],
      [{ command: ["true"], devices: ["/dev/levee-no-such-device"] }, /\/dev\/levee-no-such-device/],
      [{}, /image "levee-test\/busybox:1" has no entrypoint or command/],
    ];
    for (const [template, message] of cases) {
      const err = await f.driver.start(f.launch(template, { agentId })).catch((e) => e);
      expect(err).toBeInstanceOf(WorkerSpecError);
      expect(err.message).toMatch(message);
    }
    const err = await f.driver
      .start(
        f.launch(
          { command: ["true"] },
          { agentId, mounts: [{ hostPath: "/levee/no/such/dir", target: "/x", readOnly: true }] },
        ),
      )
      .catch((e) => e);
    expect(err).toBeInstanceOf(WorkerSpecError);
    expect(err.message).toContain("/levee/no/such/dir");
    expect(await f.docker.client.listContainers({ labels: { [LABEL.agent]: agentId }, all: true })).toEqual(
      [],
    );
  }, 30_000);

  test("logs: tail and follow", async () => {
    const instance = await f.start(
      f.launch({
        command: ["sh", "-c", "for i in 1 2 3 4 5; do echo out $i; echo err $i >&2; sleep 0.05; done"],
      }),
    );
    const parts: string[] = [];
    for await (const chunk of f.driver.logs(instance.ref, { follow: true }))
      parts.push(new TextDecoder().decode(chunk));
    const all = parts.join("");
    expect(all.split("\n").filter((l) => l.startsWith("out"))).toEqual([
      "out 1",
      "out 2",
      "out 3",
      "out 4",
      "out 5",
    ]);
    expect(all.split("\n").filter((l) => l.startsWith("err"))).toHaveLength(5);
    expect((await f.logsOf(instance, { tail: 2 })).split("\n").sort()).toEqual(["", "err 5", "out 5"]);
    await instance.stop(0);
  }, 30_000);
});
