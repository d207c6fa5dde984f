// Bounded nesting against a real `levee cloud` process: manifests nesting 100,000 levels deep
// (JSON and YAML, ~200 KB each) are a 400 naming the limit, the cloud's memory stays where it was
// (it went from 88 MB to 2.6 GB), and it still answers /readyz and applies what is right. `levee
// ctl apply` and `ctl convert` of such a file exit 1 with the message, not a stack trace.
import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { applyManifest, makeTempDir, runLevee, withCluster } from "../harness/cluster.ts";

const DEEP = 100_000;
const LIMIT = /^the manifest nests deeper than 64 levels \(at line \d+, column \d+\)$/;
const BODIES: [string, string, string][] = [
  [
    "JSON inside a Config",
    `{"apiVersion":"levee/v1","kind":"Config","metadata":{"name":"deep"},"data":${'{"a":'.repeat(DEEP)}"x"${"}".repeat(DEEP)}}`,
    "application/json",
  ],
  ["JSON arrays", `${"[".repeat(DEEP)}${"]".repeat(DEEP)}`, "application/json"],
  ["YAML flow", "[".repeat(DEEP), "application/yaml"],
  ["YAML block", `${"- ".repeat(DEEP)}x`, "application/yaml"],
];

/** Resident memory of a process in bytes (Linux /proc). */
function rssOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmRSS:\s+(\d+) kB$/m);
  if (!line?.[1]) throw new Error(`no VmRSS for ${pid}`);
  return Number(line[1]) * 1024;
}

describe("deeply nested manifests against a real cloud", () => {
  test("400 naming the limit, memory flat, the cloud still serves", async () => {
    await withCluster({ edges: 0 }, async (c) => {
      const pid = c.cloud.process.proc.pid;
      const before = rssOf(pid);
      for (let round = 0; round < 3; round++) {
        for (const [what, body, type] of BODIES) {
          const res = await c.cloud.api("/api/v1/apply", {
            method: "POST",
            headers: { "content-type": type },
            body,
          });
          const answer = (await res.json()) as { error: string; issues: { message: string }[] };
          expect(res.status, what).toBe(400);
          expect(answer.error).toBe("invalid manifest; nothing was applied");
          expect(answer.issues).toHaveLength(1);
          expect(answer.issues[0]?.message).toMatch(LIMIT);
        }
      }
      // Generous: a refusal builds nothing, so the growth is noise (it was gigabytes).
      expect(rssOf(pid) - before).toBeLessThan(200 * 1024 * 1024);
      expect((await fetch(`${c.cloud.apiUrl}/readyz`)).status).toBe(200);
      await applyManifest(
        c,
        "apiVersion: levee/v1\nkind: Config\nmetadata: {name: fine}\ndata: {a.txt: hello}\n",
        "application/yaml",
      );

      // levee ctl: exit 1, the API's message, one line naming the limit; convert reads it locally.
      const dir = makeTempDir();
      const ctl = (...args: string[]) =>
        runLevee(["ctl", ...args, "--server", c.cloud.apiUrl, "--data-dir", c.cloud.dataDir]);
      for (const [file, body] of [
        ["deep.json", BODIES[0]?.[1] ?? ""],
        ["deep.yaml", BODIES[3]?.[1] ?? ""],
      ] as const) {
        writeFileSync(join(dir, file), body);
        for (const command of ["apply", "convert"]) {
          const r = await ctl(command, "-f", join(dir, file));
          expect(r.code, `${command} ${file}: ${r.stderr}`).toBe(2);
          const lines = r.stderr.trimEnd().split("\n");
          expect(lines).toHaveLength(2);
          expect(lines[0]).toBe(
            `levee ctl ${command}: invalid manifest; nothing was ${command === "apply" ? "applied" : "converted"}`,
          );
          expect(lines[1]?.trim()).toMatch(/nests deeper than 64 levels \(at line \d+, column \d+\)$/);
        }
      }
    });
  }, 120_000);
});
