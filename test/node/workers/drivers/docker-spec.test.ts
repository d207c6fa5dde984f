// The container driver's pure half (docker-spec.ts): names, labels, devices, users, the create
// body a LaunchSpec becomes, exit info from Docker's state, signal names, error classification.
import { describe, expect, test } from "bun:test";
import {
  cleanStartError,
  containerCreateBody,
  containerName,
  exitInfoFromState,
  isSpecError,
  LABEL,
  labelsMatch,
  normalizeSignal,
  parseDevice,
  refFromLabels,
} from "../../../../src/node/workers/drivers/docker-spec.ts";
import { WorkerSpecError } from "../../../../src/node/workers/drivers/driver.ts";
import { containerLaunch, testInstanceKey } from "../../../harness/docker-fixture.ts";

describe("container specs (pure)", () => {
  test("names are valid Docker names", () => {
    const k = testInstanceKey({
      node: "Edge 1/ü",
      service: "cam_era.v2",
      index: 3,
      instance: "0123456789abcdef",
    });
    expect(containerName(k)).toBe("levee-Edge-1-cam_era.v2-3-01234567");
    expect(containerName(testInstanceKey({ node: "-n-", instance: "ab" }))).toBe("levee-n-camera-0-ab");
    expect(containerName(testInstanceKey({ node: "x".repeat(300) })).length).toBeLessThanOrEqual(200);
  });

  test("devices: HOST[:CONTAINER[:PERMISSIONS]]", () => {
    expect(parseDevice("/dev/video0")).toEqual({
      PathOnHost: "/dev/video0",
      PathInContainer: "/dev/video0",
      CgroupPermissions: "rwm",
    });
    expect(parseDevice("/dev/ttyUSB0:/dev/ttyS0")).toMatchObject({ PathInContainer: "/dev/ttyS0" });
    expect(parseDevice("/dev/ttyUSB0:rw")).toMatchObject({
      PathInContainer: "/dev/ttyUSB0",
      CgroupPermissions: "rw",
    });
    expect(parseDevice("/dev/a:/dev/b:r")).toEqual({
      PathOnHost: "/dev/a",
      PathInContainer: "/dev/b",
      CgroupPermissions: "r",
    });
    for (const bad of ["dev/a", "/dev/a:xyz", "/dev/a:/dev/b:rr", "/dev/a:/b:r:w", "/dev/a:b:r"])
      expect(() => parseDevice(bad)).toThrow(WorkerSpecError);
  });

  test("create body: host network, no restart, env byte-exact, entrypoint/cmd, mounts, devices, labels", () => {
    const spec = containerLaunch(
      {
        command: ["/bin/app", "--flag"],
        args: ["a b", ""],
        workingDir: "/work",
        user: "1000",
        group: "video",
        privileged: true,
        devices: ["/dev/null:/dev/n:r"],
        stopTimeout: "1500ms",
      },
      {
        env: { JSON: '{"a": [1, "x"]}', MULTI: "line 1\nline 2\n", EQ: "a=b=c", EMPTY: "" },
        mounts: [
          { hostPath: "/srv/models", target: "/models", readOnly: true },
          { hostPath: "/tmp/x:y", target: "/data", readOnly: false },
        ],
      },
    );
    const body = containerCreateBody(spec);
    expect(body.Entrypoint).toEqual(["/bin/app", "--flag"]);
    expect(body.Cmd).toEqual(["a b", ""]);
    expect(body.Env).toEqual(['JSON={"a": [1, "x"]}', "MULTI=line 1\nline 2\n", "EQ=a=b=c", "EMPTY="]);
    expect(body.WorkingDir).toBe("/work");
    expect(body.User).toBe("1000:video");
    expect(body.StopTimeout).toBe(2);
    expect(body.HostConfig.NetworkMode).toBe("host");
    expect(body.HostConfig.RestartPolicy).toEqual({ Name: "no" });
    expect(body.HostConfig.Privileged).toBe(true);
    expect(body.HostConfig.Init).toBeUndefined();
    expect(body.HostConfig.Mounts).toEqual([
      { Type: "bind", Source: "/srv/models", Target: "/models", ReadOnly: true },
      { Type: "bind", Source: "/tmp/x:y", Target: "/data", ReadOnly: false },
    ]);
    expect(body.HostConfig.Devices).toEqual([
      { PathOnHost: "/dev/null", PathInContainer: "/dev/n", CgroupPermissions: "r" },
    ]);
    expect(body.Labels).toEqual({
      [LABEL.node]: "edge-1",
      [LABEL.service]: "camera",
      [LABEL.index]: "0",
      [LABEL.instance]: spec.key.instance,
      [LABEL.agent]: spec.agentId,
    });
    expect(labelsMatch(spec.key, body.Labels)).toBe(true);
    expect(labelsMatch({ ...spec.key, index: 1 }, body.Labels)).toBe(false);
    expect(refFromLabels("abc", body.Labels)).toEqual({
      key: spec.key,
      driver: "container",
      containerId: "abc",
    });
    expect(refFromLabels("abc", { [LABEL.node]: "x" })).toBeUndefined();
  });

  test("no command and no args keep the image's; a group alone; init on request", () => {
    const body = containerCreateBody(containerLaunch({ group: 44 }), { init: true });
    expect(body.Entrypoint).toBeUndefined();
    expect(body.Cmd).toBeUndefined();
    expect(body.User).toBe(":44");
    expect(body.HostConfig.Init).toBe(true);
    expect(containerCreateBody(containerLaunch({ user: "worker" })).User).toBe("worker");
  });

  test("resources: Memory (no swap on top) and NanoCpus; none without resources", () => {
    const body = containerCreateBody(containerLaunch({ resources: { memory: "64Mi", cpu: "1500m" } }));
    expect(body.HostConfig.Memory).toBe(64 * 1024 * 1024);
    expect(body.HostConfig.MemorySwap).toBe(64 * 1024 * 1024);
    expect(body.HostConfig.NanoCpus).toBe(1_500_000_000);
    const plain = containerCreateBody(containerLaunch({}));
    expect([plain.HostConfig.Memory, plain.HostConfig.MemorySwap, plain.HostConfig.NanoCpus]).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
  });

  test("a mount without a target cannot run in a container", () => {
    const spec = containerLaunch({}, { mounts: [{ hostPath: "/srv/x", readOnly: false }] });
    expect(() => containerCreateBody(spec)).toThrow(/mount of \/srv\/x: a container worker needs a target/);
  });

  test("exit info: codes, signals as 128+N, OOM", () => {
    expect(exitInfoFromState({ ExitCode: 0, OOMKilled: false, Error: "" })).toEqual({
      exitCode: 0,
      signal: null,
    });
    expect(exitInfoFromState({ ExitCode: 3, OOMKilled: false, Error: "" })).toEqual({
      exitCode: 3,
      signal: null,
    });
    expect(exitInfoFromState({ ExitCode: 137, OOMKilled: false, Error: "" })).toEqual({
      exitCode: 137,
      signal: "SIGKILL",
    });
    expect(exitInfoFromState({ ExitCode: 143, OOMKilled: false, Error: "" }).signal).toBe("SIGTERM");
    expect(exitInfoFromState({ ExitCode: 137, OOMKilled: true, Error: "" })).toEqual({
      exitCode: 137,
      signal: "SIGKILL",
      reason: "OOMKilled",
    });
    expect(exitInfoFromState({ ExitCode: 255, OOMKilled: false, Error: "" }).signal).toBeNull();
  });

  test("signal names", () => {
    expect(normalizeSignal("HUP")).toBe("SIGHUP");
    expect(normalizeSignal("sigterm")).toBe("SIGTERM");
    expect(normalizeSignal("9")).toBe("SIGKILL");
    expect(() => normalizeSignal("SIGFOO")).toThrow(/unknown signal "SIGFOO"/);
  });

  test("which Docker errors are the spec's fault", () => {
    const notFound =
      'failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "nope": executable file not found in $PATH: unknown';
    expect(cleanStartError(notFound)).toBe('exec: "nope": executable file not found in $PATH');
    expect(isSpecError(400, notFound)).toBe(true);
    expect(isSpecError(500, "unable to find user bob: no matching entries in passwd file")).toBe(true);
    expect(isSpecError(500, 'error gathering device information while adding custom device "/dev/x"')).toBe(
      true,
    );
    expect(isSpecError(500, "context deadline exceeded")).toBe(false);
    expect(isSpecError(503, "daemon is shutting down")).toBe(false);
  });
});
