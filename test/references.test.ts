// Comments that name files name files that exist, and none cite issue numbers (an issue is history;
// a comment says why the code is as it is now). Scans the source, the tests, the benchmarks, the build
// scripts and the docs.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { REPO_ROOT } from "./harness/process.ts";

const FOLDERS = ["src", "test", "bench", "build", "docs"];
const TOP_FILES = ["README.md", "BENCHMARKS.md"];

function textFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((name) => /\.(ts|md)$/.test(name))
    .map((name) => join(dir, name));
}

const files = [
  ...FOLDERS.flatMap((f) => textFiles(join(REPO_ROOT, f))),
  ...TOP_FILES.map((f) => join(REPO_ROOT, f)),
];

/** `src/...` and `test/...` paths with a file extension, as written in the text. */
const PATH =
  /(?<![\w./-])((?:src|test|bench|build|docs|examples|systemd)\/[\w./-]*\.(?:ts|md|mjs|yaml|service))\b/g;
const ISSUE = /\bissues? #?\d+\b|\(#\d+\)/gi;

describe("references in comments and docs", () => {
  test("every file path named exists", () => {
    const stale: string[] = [];
    for (const file of files) {
      const text = readFileSync(file, "utf8");
      for (const m of text.matchAll(PATH)) {
        const path = m[1] as string;
        if (!existsSync(join(REPO_ROOT, path))) stale.push(`${relative(REPO_ROOT, file)}: ${path}`);
      }
    }
    expect(stale).toEqual([]);
  });

  test("no comment or doc cites an issue number", () => {
    const cited: string[] = [];
    for (const file of files) {
      if (file.endsWith("references.test.ts")) continue;
      const lines = readFileSync(file, "utf8").split("\n");
      lines.forEach((line, i) => {
        // In code only comments count; a doc counts whole. (Another project's issue, such as
        // "kubeedge #5007", does not match: it names where a fact comes from.)
        const text = file.endsWith(".ts") ? (line.match(/\/\/.*|\/\*.*|^\s*\*.*/)?.[0] ?? "") : line;
        for (const m of text.matchAll(ISSUE)) cited.push(`${relative(REPO_ROOT, file)}:${i + 1}: ${m[0]}`);
      });
    }
    expect(cited).toEqual([]);
  });
});
