// Resolved agent settings: machine defaults and where the local agent API binds.
import { describe, expect, test } from "bun:test";
import {
  AUTO_MESH_THREADS_MAX,
  autoMeshThreads,
  resolveCloudConfig,
  resolveEdgeConfig,
} from "../../src/config/agent-config.ts";
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

  test("the agent API and the forward proxy stay on loopback whatever the bind address", () => {
    // A loopback bind address (several agents on one host): the agent's own loopback address.
    let c = cloud(["--bind-address", "127.0.3.11", "--data-dir", "/tmp/x"]);
    expect(c.agentListen).toEqual({ host: "127.0.3.11", port: 7401 });
    expect(c.proxyListen).toEqual({ host: "127.0.3.11", port: 7403 });
    // An address other hosts reach: the cluster listeners there, the local ones on 127.0.0.1.
    c = cloud(["--bind-address", "192.0.2.7", "--data-dir", "/tmp/x"]);
    expect(c.apiListen.host).toBe("192.0.2.7");
    expect(c.tunnelListen.host).toBe("192.0.2.7");
    expect(c.agentListen).toEqual({ host: "127.0.0.1", port: 7401 });
    expect(c.proxyListen).toEqual({ host: "127.0.0.1", port: 7403 });
    expect(cloud(["--bind-address", "::", "--data-dir", "/tmp/x"]).proxyListen.host).toBe("::1");
    // --agent-address moves the agent API only; the proxy stays on loopback.
    c = cloud(["--bind-address", "192.0.2.7", "--agent-address", "0.0.0.0", "--data-dir", "/tmp/x"]);
    expect(c.agentListen).toEqual({ host: "0.0.0.0", port: 7401 });
    expect(c.proxyListen).toEqual({ host: "127.0.0.1", port: 7403 });
  });

  test("the Kubernetes API: --kube-port (6443) on the bind address; 0 turns it off; bad ports name the flag", () => {
    expect(cloud(["--bind-address", "192.0.2.7", "--data-dir", "/tmp/x"]).kubeListen).toEqual({
      host: "192.0.2.7",
      port: 6443,
    });
    expect(cloud(["--kube-port", "16443", "--data-dir", "/tmp/x"]).kubeListen?.port).toBe(16443);
    expect(cloud(["--kube-port", "0", "--data-dir", "/tmp/x"]).kubeListen).toBeUndefined();
    const edge = loadOptions({
      command: "levee edge",
      keys: optionsFor("edge"),
      argv: ["--cloud", "http://c"],
      env: { LEVEE_KUBE_PORT: "0" },
    }).options;
    expect(resolveEdgeConfig(edge).kubeListen).toBeUndefined();
    expect(() => cloud(["--kube-port", "70000"])).toThrow(/kube-port.*between 1 and 65535, or 0 for off/);
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

  test("--mesh-threads: a number, or auto (the CPUs this process may use, at most 4); bad values name the flag", () => {
    const edge = (argv: string[], env: Record<string, string> = {}) =>
      resolveEdgeConfig(
        loadOptions({
          command: "levee edge",
          keys: optionsFor("edge"),
          argv: ["--cloud", "http://c", ...argv],
          env,
        }).options,
      );
    expect(edge(["--mesh-threads", "3"]).meshThreads).toBe(3);
    expect(edge([], { LEVEE_MESH_THREADS: "1" }).meshThreads).toBe(1);
    const auto = edge([]).meshThreads;
    expect(auto).toBeGreaterThanOrEqual(1);
    expect(auto).toBeLessThanOrEqual(AUTO_MESH_THREADS_MAX);
    expect(edge(["--mesh-threads", "auto"]).meshThreads).toBe(auto);
    expect(autoMeshThreads(12)).toBe(4);
    expect(autoMeshThreads(2)).toBe(2);
    expect(autoMeshThreads(0)).toBe(1);
    expect(() => edge(["--mesh-threads", "0"])).toThrow(/mesh-threads/);
    expect(() => edge(["--mesh-threads", "many"])).toThrow(/mesh-threads/);
  });
});
