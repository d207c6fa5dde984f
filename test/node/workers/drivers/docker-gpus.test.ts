// Runtimes and devices for container workers without privileged (pure): the template's runtime,
// gpus and cdiDevices in Docker's create body (HostConfig.Runtime, DeviceRequests, Devices), the
// message for a node whose Docker lacks the runtime, what the schema refuses, and the answer of an
// image load. The runtime check against a real dockerd is in container-runtime.test.ts.
import { describe, expect, test } from "bun:test";
import { serviceSpecSchema } from "../../../../src/manifest/service.ts";
import { templateSchema } from "../../../../src/manifest/template.ts";
import { parseLoadAnswer } from "../../../../src/node/workers/drivers/docker-images.ts";
import { containerCreateBody, runtimeProblem } from "../../../../src/node/workers/drivers/docker-spec.ts";
import { containerLaunch } from "../../../harness/docker-fixture.ts";

describe("GPUs and devices in the create body", () => {
  test("runtime, gpus: all, CDI devices and device paths", () => {
    const body = containerCreateBody(
      containerLaunch({
        runtime: "nvidia",
        gpus: "all",
        cdiDevices: ["nvidia.com/gpu=0"],
        devices: ["/dev/video0"],
      }),
    );
    expect(body.HostConfig.Runtime).toBe("nvidia");
    expect(body.HostConfig.Privileged).toBe(false);
    expect(body.HostConfig.DeviceRequests).toEqual([
      { Driver: "", Count: -1, DeviceIDs: null, Capabilities: [["gpu"]], Options: {} },
      { Driver: "cdi", Count: 0, DeviceIDs: ["nvidia.com/gpu=0"], Capabilities: null, Options: {} },
    ]);
    expect(body.HostConfig.Devices).toEqual([
      { PathOnHost: "/dev/video0", PathInContainer: "/dev/video0", CgroupPermissions: "rwm" },
    ]);
  });

  test("a count of GPUs; without the fields nothing is added", () => {
    expect(containerCreateBody(containerLaunch({ gpus: 2 })).HostConfig.DeviceRequests).toEqual([
      { Driver: "", Count: 2, DeviceIDs: null, Capabilities: [["gpu"]], Options: {} },
    ]);
    const plain = containerCreateBody(containerLaunch({}));
    expect("Runtime" in plain.HostConfig).toBe(false);
    expect("DeviceRequests" in plain.HostConfig).toBe(false);
  });

  test("the message when the node's Docker lacks the runtime", () => {
    expect(runtimeProblem("edge1", "nvidia", ["runc"])).toBe(
      'docker on edge1 has no runtime "nvidia" (it has: runc)',
    );
    expect(runtimeProblem("edge1", "nvidia", ["runc", "nvidia"])).toBeUndefined();
    expect(runtimeProblem("e", "x", [])).toBe('docker on e has no runtime "x" (it has: none)');
  });

  test("the schema refuses bad values, naming the field; exec workers may not have them", () => {
    const issue = (fields: Record<string, unknown>) =>
      templateSchema.safeParse({ driver: "container", image: "x:1", ...fields }).error?.issues[0];
    expect(issue({ gpus: 0 })).toMatchObject({ path: ["gpus"] });
    expect(issue({ gpus: "some" })?.message).toMatch(/"all" or a number of GPUs/);
    expect(issue({ runtime: "nvidia runtime" })).toMatchObject({ path: ["runtime"] });
    expect(issue({ cdiDevices: ["gpu0"] })?.message).toMatch(/VENDOR\/CLASS=NAME/);
    const exec = serviceSpecSchema.safeParse({
      template: { command: ["run"], runtime: "nvidia", gpus: 1 },
      workers: [{ node: "edge1" }],
    });
    expect(exec.error?.issues.map((i) => i.path.at(-1))).toEqual(["runtime", "gpus"]);
  });
});

describe("image load answers", () => {
  test("loaded references and IDs; an error", () => {
    const ok =
      '{"stream":"Loaded image: repo:5000/cam:v1\\n"}\n{"stream":"Loaded image ID: sha256:abc\\n"}\n';
    expect(parseLoadAnswer(ok)).toEqual({ loaded: ["repo:5000/cam:v1", "sha256:abc"] });
    const bad = '{"errorDetail":{"message":"unexpected EOF"},"error":"unexpected EOF"}\n';
    expect(parseLoadAnswer(bad)).toEqual({ loaded: [], error: "unexpected EOF" });
  });
});
