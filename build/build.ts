// `npm run build`: compiles the levee binary for every supported target with `bun build
// --compile` (minified, with bytecode), baking in the version, git commit and target. The mesh
// threads' Worker script is a second entry point (Bun embeds it next to the main one).
//   bun build/build.ts                 all targets → dist/levee-<target>
//   bun build/build.ts linux-arm64     only the named targets
// Cross-target runtimes are fetched by bun from the npm registry on first use and cached.
// buildTarget's `version` option bakes in another version string than package.json's (the upgrade
// tests build the same code as two versions).
import { mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { BUILD_TARGETS, type BuildTarget, isBuildTarget } from "../src/runtime/build-targets.ts";

export type Target = BuildTarget;

const root = join(import.meta.dir, "..");

export function gitCommit(): string {
  const head = Bun.spawnSync(["git", "rev-parse", "--short=12", "HEAD"], { cwd: root, stderr: "ignore" });
  if (head.exitCode !== 0) return "unknown";
  const dirty = Bun.spawnSync(["git", "status", "--porcelain", "--untracked-files=no"], { cwd: root });
  return `${head.stdout.toString().trim()}${dirty.stdout.toString().trim() ? "-dirty" : ""}`;
}

export interface BuildOptions {
  /** The version `levee version` reports; default package.json's. */
  version?: string;
  /** The output file; default <outDir>/levee-<target>. */
  outfile?: string;
}

export async function buildTarget(
  target: Target,
  outDir = join(root, "dist"),
  commit = gitCommit(),
  options: BuildOptions = {},
) {
  mkdirSync(outDir, { recursive: true });
  const outfile = options.outfile ?? join(outDir, `levee-${target}`);
  const started = performance.now();
  const proc = Bun.spawn(
    [
      process.execPath,
      "build",
      "--compile",
      "--minify",
      "--bytecode",
      "--format=esm",
      `--target=bun-${target}`,
      "--define",
      `LEVEE_TARGET=${JSON.stringify(`bun-${target}`)}`,
      "--define",
      `LEVEE_COMMIT=${JSON.stringify(commit)}`,
      ...(options.version ? ["--define", `LEVEE_VERSION=${JSON.stringify(options.version)}`] : []),
      join(root, "src/cli/main.ts"),
      // The mesh threads' Worker entry (src/mesh/threads/threads.ts finds it at /$bunfs/root/mesh/threads/).
      join(root, "src/mesh/threads/mesh-thread.ts"),
      "--outfile",
      outfile,
    ],
    { cwd: root, stdout: "pipe", stderr: "pipe" },
  );
  const [code, out, err] = await Promise.all([
    proc.exited,
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
  ]);
  if (code !== 0) throw new Error(`bun build for ${target} failed (exit ${code}):\n${out}${err}`);
  return { target, outfile, bytes: statSync(outfile).size, ms: Math.round(performance.now() - started) };
}

if (import.meta.main) {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((t) => !isBuildTarget(t));
  if (unknown.length > 0) {
    console.error(`build: unknown target ${unknown[0]}; targets: ${BUILD_TARGETS.join(", ")}`);
    process.exit(2);
  }
  const targets: Target[] = wanted.length > 0 ? wanted.filter(isBuildTarget) : [...BUILD_TARGETS];
  const commit = gitCommit();
  console.log(`building levee ${commit} for ${targets.join(", ")}`);
  for (const target of targets) {
    const r = await buildTarget(target, undefined, commit);
    console.log(
      `  ${r.outfile.replace(`${root}/`, "").padEnd(28)} ${(r.bytes / 1e6).toFixed(1).padStart(6)} MB  ${r.ms} ms`,
    );
  }
}
