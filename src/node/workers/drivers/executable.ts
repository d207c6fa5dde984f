// Finding a worker's program: a path is checked, a bare name is searched in the worker's PATH, as
// a shell would, so that "command not found" is the driver's clear error and not a spawn failure.
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { WorkerSpecError } from "./driver.ts";

/** The program to run: a path (checked) or a name searched in the worker's PATH. */
export function findExecutable(program: string, path: string): string {
  if (program.includes("/")) {
    if (!existsSync(program)) throw new WorkerSpecError(`command not found: ${program} does not exist`);
    if (!isExecutableFile(program)) throw new WorkerSpecError(`command ${program} is not an executable file`);
    return program;
  }
  for (const dir of path.split(":")) {
    if (dir === "") continue;
    const candidate = join(dir, program);
    if (isExecutableFile(candidate)) return candidate;
  }
  throw new WorkerSpecError(`command not found: ${program} (searched PATH=${path})`);
}

function isExecutableFile(path: string): boolean {
  try {
    const stat = statSync(path);
    return stat.isFile() && (stat.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}
