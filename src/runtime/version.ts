// What `levee version` prints. The build (build/build.ts) bakes these in with --define;
// running from source they come from package.json and the host.
import pkg from "../../package.json" with { type: "json" };

declare const LEVEE_COMMIT: string | undefined;
declare const LEVEE_TARGET: string | undefined;
/** Only when the build names another version than package.json's (build/build.ts). */
declare const LEVEE_VERSION: string | undefined;

export interface VersionInfo {
  version: string;
  commit: string;
  target: string;
  bun: string;
}

export function versionInfo(): VersionInfo {
  return {
    version: typeof LEVEE_VERSION === "string" ? LEVEE_VERSION : pkg.version,
    commit: typeof LEVEE_COMMIT === "string" ? LEVEE_COMMIT : "source",
    target:
      typeof LEVEE_TARGET === "string" ? LEVEE_TARGET : `bun-${process.platform}-${process.arch} (source)`,
    bun: Bun.version,
  };
}

export function isCompiled(): boolean {
  return typeof LEVEE_TARGET === "string";
}

/** The build target without bun's prefix (`linux-x64`), or undefined when running from source. */
export function buildTarget(): string | undefined {
  return typeof LEVEE_TARGET === "string" ? LEVEE_TARGET.replace(/^bun-/, "") : undefined;
}
