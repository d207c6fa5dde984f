// Resolved agent settings: machine defaults and where the local agent API binds.
import { describe, expect, test } from "bun:test";
import { resolveCloudConfig, resolveEdgeConfig } from "../../src/config/agent-config.ts";
import { loadOptions } from "../../src/config/load.ts";
import { optionsFor } from "../../src/config/schema.ts";

const cloud = (argv: string[]) =>
  resolveCloudConfig(
    loadOptions({ command: "levee cloud", keys: optionsFor("cloud"), argv, env: {} }).options,
  );

describe("agent config", () => {
  test("a specific bind address is used by every listener and advertised", () => {
    const c = cloud(["--bind-address", "127.0.0.10", "--data-dir", "/tmp/x"]);
    expect(c.apiListen).toEqual({ host: "127.0.0.10", port: 7400 });
    expect(c.mqttListen).toEqual({ host: "127.0.0.10", port: 1883 });
    expect(c.agentListen).toEqual({ host: "127.0.0.10", port: 7401 });
    expect(c.advertiseAddress).toBe("127.0.0.10");
  });

  test("with 0.0.0.0 the local agent API stays on loopback and a real address is advertised", () => {
    const c = cloud(["--data-dir", "/tmp/x"]);
    expect(c.apiListen.host).toBe("0.0.0.0");
    expect(c.agentListen).toEqual({ host: "127.0.0.1", port: 7401 });
    expect(c.advertiseAddress).not.toBe("0.0.0.0");
    expect(c.advertiseAddress.length).toBeGreaterThan(0);
  });

  test("explicit listen hosts and advertise address win", () => {
    const c = cloud([
      "--api-listen",
      "127.0.0.1:9000",
      "--advertise-address",
      "10.1.2.3",
      "--data-dir",
      "/tmp/x",
    ]);
    expect(c.apiListen).toEqual({ host: "127.0.0.1", port: 9000 });
    expect(c.advertiseAddress).toBe("10.1.2.3");
  });

  test("node name defaults to a DNS label made from the host name; data dir is absolute", () => {
    const e = resolveEdgeConfig(
      loadOptions({
        command: "levee edge",
        keys: optionsFor("edge"),
        argv: ["--cloud", "http://c", "--data-dir", "rel"],
        env: {},
      }).options,
    );
    expect(e.nodeName).toMatch(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/);
    expect(e.dataDir.startsWith("/")).toBe(true);
    expect(e.cloud).toBe("http://c");
  });
});
