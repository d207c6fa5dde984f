// The build targets levee is compiled for (build/build.ts), one binary each: the names that
// `levee ctl upgrade --binary TARGET=PATH` takes and that a compiled binary reports as its target.
// Written once here so that the build, the CLI and its flag's help cannot disagree.

export const BUILD_TARGETS = ["linux-x64", "linux-arm64", "linux-x64-musl", "linux-arm64-musl"] as const;
export type BuildTarget = (typeof BUILD_TARGETS)[number];

export function isBuildTarget(name: string): name is BuildTarget {
  return (BUILD_TARGETS as readonly string[]).includes(name);
}
