// NOTIFY_SOCKET parsing, the sockaddr_un bytes, the datagram text and the watchdog interval.
import { describe, expect, test } from "bun:test";
import {
  notifyMessage,
  parseNotifySocket,
  STATUS_MAX,
  sockaddrUn,
  watchdogIntervalMs,
} from "../../src/runtime/sd-notify-protocol.ts";

describe("sd_notify protocol", () => {
  test("NOTIFY_SOCKET: an absolute path or @abstract name, bounded by sun_path", () => {
    expect(parseNotifySocket("/run/systemd/notify")).toEqual({ kind: "path", name: "/run/systemd/notify" });
    expect(parseNotifySocket("@/org/freedesktop/systemd1/notify/123")).toEqual({
      kind: "abstract",
      name: "/org/freedesktop/systemd1/notify/123",
    });
    expect(parseNotifySocket("/a".padEnd(107, "x"))).toMatchObject({ kind: "path" });
    expect(parseNotifySocket("/a".padEnd(108, "x"))).toContain("too long");
    expect(parseNotifySocket(`@${"x".repeat(107)}`)).toMatchObject({ kind: "abstract" });
    expect(parseNotifySocket(`@${"x".repeat(108)}`)).toContain("too long");
    expect(parseNotifySocket("@")).toContain("NOTIFY_SOCKET");
    expect(parseNotifySocket("relative/sock")).toContain("absolute");
    expect(parseNotifySocket("vsock:2:1234")).toContain("absolute");
  });

  test("sockaddr_un: family AF_UNIX, a NUL-terminated path or a NUL-led abstract name", () => {
    const path = sockaddrUn({ kind: "path", name: "/run/n" });
    expect([...path.bytes.slice(0, 2)]).toEqual([1, 0]);
    expect(new TextDecoder().decode(path.bytes.slice(2, 8))).toBe("/run/n");
    expect(path.bytes[8]).toBe(0);
    expect(path.length).toBe(2 + 6 + 1);
    const abstract = sockaddrUn({ kind: "abstract", name: "n" });
    expect([...abstract.bytes.slice(0, 4)]).toEqual([1, 0, 0, "n".charCodeAt(0)]);
    expect(abstract.length).toBe(4);
  });

  test("the datagram: KEY=value lines; STATUS is one bounded line", () => {
    expect(notifyMessage({ READY: "1", STATUS: "Ready: 4 workers, plan 12" })).toBe(
      "READY=1\nSTATUS=Ready: 4 workers, plan 12",
    );
    expect(notifyMessage({ STATUS: "a\nb\u0000c\td" })).toBe("STATUS=a b c d");
    const long = notifyMessage({ STATUS: "x".repeat(1000) });
    expect(long.length).toBe("STATUS=".length + STATUS_MAX);
    expect(long.endsWith("…")).toBe(true);
  });

  test("watchdog: half of WATCHDOG_USEC, only for the process WATCHDOG_PID names", () => {
    expect(watchdogIntervalMs({ WATCHDOG_USEC: "30000000" }, 42)).toBe(15_000);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: "30000000", WATCHDOG_PID: "42" }, 42)).toBe(15_000);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: "30000000", WATCHDOG_PID: "43" }, 42)).toBeUndefined();
    expect(watchdogIntervalMs({ WATCHDOG_USEC: "1000" }, 42)).toBe(1);
    for (const bad of [undefined, "", "0", "-5", "1.5", "abc", "99999999999999999999"])
      expect(watchdogIntervalMs({ WATCHDOG_USEC: bad }, 42)).toBeUndefined();
  });
});
