// Log lines: JSON objects or text, level filtering, and secrets never written.
import { describe, expect, test } from "bun:test";
import { createLogger } from "../../src/runtime/log.ts";

function capture(format: "json" | "text", level: "debug" | "info" | "warn" | "error" = "info") {
  const lines: string[] = [];
  return { lines, log: createLogger({ level, format, write: (l) => lines.push(l) }) };
}

describe("logger", () => {
  test("json: one object per line with time, level, msg and fields", () => {
    const { lines, log } = capture("json");
    log.child({ node: "edge1" }).info("worker started", { pid: 42, note: "a\nb" });
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0] ?? "");
    expect(entry).toMatchObject({
      level: "info",
      msg: "worker started",
      node: "edge1",
      pid: 42,
      note: "a\nb",
    });
    expect(Number.isNaN(Date.parse(entry.time))).toBe(false);
  });

  test("levels below the configured one are dropped", () => {
    const { lines, log } = capture("json", "warn");
    log.debug("d");
    log.info("i");
    log.warn("w");
    log.error("e");
    expect(lines.map((l) => JSON.parse(l).level)).toEqual(["warn", "error"]);
  });

  test("text: level, message and key=value pairs, quoted when needed", () => {
    const { lines, log } = capture("text");
    log.warn("slow start", { ms: 12, path: "/a b" });
    expect(lines[0]).toMatch(/^\S+ WARN {2}slow start ms=12 path="\/a b"$/);
  });

  test("secrets are redacted in both formats", () => {
    for (const format of ["json", "text"] as const) {
      const { lines, log } = capture(format);
      log.info("join", {
        token: "s3cret",
        mqttPassword: "hunter2",
        Authorization: "Bearer x",
        user: "edge1",
      });
      expect(lines[0]).not.toContain("s3cret");
      expect(lines[0]).not.toContain("hunter2");
      expect(lines[0]).not.toContain("Bearer x");
      expect(lines[0]).toContain("edge1");
      expect(lines[0]).toContain("[redacted]");
    }
  });

  test("errors are logged by their message", () => {
    const { lines, log } = capture("json");
    log.error("failed", { error: new Error("disk full") });
    expect(JSON.parse(lines[0] ?? "").error).toBe("disk full");
  });
});

describe("logger under the systemd journal", () => {
  test("each line starts with the syslog priority of its level, in both formats", () => {
    for (const format of ["json", "text"] as const) {
      const lines: string[] = [];
      const log = createLogger({ level: "debug", format, journal: true, write: (l) => lines.push(l) });
      log.child({ component: "x" }).error("e");
      log.warn("w");
      log.info("i");
      log.debug("d");
      expect(lines.map((l) => l.slice(0, 3))).toEqual(["<3>", "<4>", "<6>", "<7>"]);
      if (format === "json") expect(JSON.parse(lines[0]?.slice(3) ?? "").component).toBe("x");
    }
  });

  test("without the journal, lines are unchanged", () => {
    const { lines, log } = capture("json");
    log.error("e");
    expect(lines[0]?.startsWith("{")).toBe(true);
  });
});
