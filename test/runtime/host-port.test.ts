// HOST:PORT parsing for --api-listen and --mqtt-listen.
import { describe, expect, test } from "bun:test";
import { listenAddress, parseHostPort } from "../../src/runtime/host-port.ts";

describe("parseHostPort", () => {
  test("accepts :PORT, HOST:PORT and [IPv6]:PORT", () => {
    expect(parseHostPort(":7400")).toEqual({ host: "", port: 7400 });
    expect(parseHostPort("127.0.0.10:1883")).toEqual({ host: "127.0.0.10", port: 1883 });
    expect(parseHostPort("cloud.local:80")).toEqual({ host: "cloud.local", port: 80 });
    expect(parseHostPort("[::1]:7400")).toEqual({ host: "::1", port: 7400 });
  });

  test("rejects everything else with a message", () => {
    for (const bad of ["7400", "host", ":", ":0", ":65536", "a:b", "::1:7400", "a b:1", "[::1]", ""]) {
      expect(typeof parseHostPort(bad)).toBe("string");
    }
  });

  test("an empty host means the bind address", () => {
    expect(listenAddress(":7400", "127.0.0.11")).toEqual({ host: "127.0.0.11", port: 7400 });
    expect(listenAddress("10.0.0.1:7400", "127.0.0.11")).toEqual({ host: "10.0.0.1", port: 7400 });
  });
});
