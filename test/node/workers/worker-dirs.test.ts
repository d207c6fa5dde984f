// Garbage collection of worker directories on a real temp dir: one worker's directory and its
// empty service directory go; the start-up sweep removes what no known worker owns and never
// follows a symbolic link.
import { expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { removeWorkerDir, sweepWorkerDirs, workerDir } from "../../../src/node/workers/worker-dirs.ts";
import { makeTempDir } from "../../harness/cluster.ts";

test("removeWorkerDir removes the worker's directory, and its service's once empty", () => {
  const dataDir = makeTempDir();
  for (const i of [0, 1]) mkdirSync(join(workerDir(dataDir, "web", i), "logs"), { recursive: true });
  removeWorkerDir(dataDir, "web", 0);
  expect(readdirSync(join(dataDir, "workers", "web"))).toEqual(["1"]);
  removeWorkerDir(dataDir, "web", 1);
  expect(readdirSync(join(dataDir, "workers"))).toEqual([]);
  removeWorkerDir(dataDir, "web", 1); // gone already: nothing to do
});

test("sweepWorkerDirs keeps known workers, removes the rest, and never follows links", () => {
  const dataDir = makeTempDir();
  const outside = makeTempDir();
  writeFileSync(join(outside, "precious"), "x");
  const root = join(dataDir, "workers");
  mkdirSync(join(workerDir(dataDir, "web", 0), "logs"), { recursive: true });
  mkdirSync(join(workerDir(dataDir, "web", 3), "mounts", "0"), { recursive: true });
  symlinkSync(outside, join(workerDir(dataDir, "web", 3), "mounts", "0", "link"));
  mkdirSync(join(root, "gone", "0"), { recursive: true });
  mkdirSync(join(root, "empty"));
  mkdirSync(join(root, "odd", "not-an-index"), { recursive: true });
  symlinkSync(outside, join(root, "linked"));
  symlinkSync(outside, join(root, "web", "5"));

  const removed = sweepWorkerDirs(dataDir, new Set(["web/0"]));

  expect(removed.map((p) => p.slice(root.length + 1)).sort()).toEqual(["empty", "gone/0", "web/3"]);
  expect(readdirSync(root).sort()).toEqual(["linked", "odd", "web"]);
  expect(readdirSync(join(root, "web")).sort()).toEqual(["0", "5"]);
  expect(existsSync(join(outside, "precious"))).toBe(true);
  expect(sweepWorkerDirs(makeTempDir(), new Set())).toEqual([]); // no workers dir yet
});
