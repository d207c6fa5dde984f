import { describe, expect, test } from "bun:test";
import { inheritedEnv, workerEnv } from "../../../../src/node/workers/prestart/worker-env.ts";

const base = {
  node: "edge1",
  service: "web",
  index: 2,
  instance: "abc-123",
  workerDir: "/var/lib/levee/workers/web/2",
  agentUrl: "http://127.0.0.1:7401",
  mountEnv: {},
};

describe("workerEnv", () => {
  test("injects Sedna's variables and levee's; template values pass byte-exact", () => {
    const tricky = '{"a": "b\\"c"}\n\'x\'\t ';
    const env = workerEnv({ ...base, templateEnv: { DATA: tricky }, port: 20001 });
    expect(env).toEqual({
      DATA: tricky,
      NAMESPACE: "default",
      LOG_LEVEL: "INFO",
      DATA_PATH_PREFIX: "/home/data",
      NODE_NAME: "edge1",
      SERVICE_NAME: "web",
      LEVEE_AGENT_URL: "http://127.0.0.1:7401",
      LEVEE_WORKER_ID: "abc-123",
      LEVEE_WORKER_INDEX: "2",
      LEVEE_WORKER_DIR: "/var/lib/levee/workers/web/2",
      PORT: "20001",
    });
  });

  test("the template may set the defaults but not the facts the agent owns", () => {
    const env = workerEnv({
      ...base,
      templateEnv: { LOG_LEVEL: "DEBUG", NAMESPACE: "dayu", NODE_NAME: "liar", PORT: "1" },
      mountEnv: { MODEL: "/m/model.onnx" },
      port: 9000,
    });
    expect(env).toMatchObject({ LOG_LEVEL: "DEBUG", NAMESPACE: "dayu", NODE_NAME: "edge1", PORT: "9000" });
    expect(env.MODEL).toBe("/m/model.onnx");
  });

  test("no PORT without a port; only harmless agent variables are inherited", () => {
    expect(workerEnv({ ...base, templateEnv: {} }).PORT).toBeUndefined();
    const inherited = inheritedEnv({ PATH: "/bin", HOME: "/root", LEVEE_TOKEN: "secret", AWS_SECRET: "x" });
    expect(inherited).toEqual({ PATH: "/bin", HOME: "/root" });
    expect(inheritedEnv({}).PATH).toContain("/usr/bin");
  });
});
