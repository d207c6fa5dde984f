// Builds the three binaries the manual systemd check (test/systemd/run.sh) installs and upgrades
// to: the current code at package.json's version ("old"), the same code one patch version higher
// ("new"), and test/fixtures/failing-levee.ts answering `version` two patch versions higher but
// exiting at start with status 3 ("bad"), as the upgrade e2e (test/e2e/upgrade.test.ts) builds
// them, and the same three patch versions higher exiting with status 2 ("bad2"), which the units
// do not restart (RestartPreventExitStatus=2).
//   bun test/systemd/build-bins.ts OUT_DIR   → OUT_DIR/levee-old, levee-new, levee-bad, levee-bad2
import { join } from "node:path";
import { buildTarget, type Target } from "../../build/build.ts";
import pkg from "../../package.json" with { type: "json" };
import { buildFailingLevee } from "../fixtures/build-failing-levee.ts";

const out = process.argv[2];
if (!out) {
  console.error("usage: bun test/systemd/build-bins.ts OUT_DIR");
  process.exit(2);
}
const target: Target = process.arch === "arm64" ? "linux-arm64" : "linux-x64";
const [major, minor, patch] = pkg.version.split(".").map(Number) as [number, number, number];
const next = `${major}.${minor}.${patch + 1}`;
const bad = `${major}.${minor}.${patch + 2}`;
const bad2 = `${major}.${minor}.${patch + 3}`;

await buildTarget(target, out, undefined, { outfile: join(out, "levee-old") });
await buildTarget(target, out, undefined, { outfile: join(out, "levee-new"), version: next });
/** failing-levee.ts as `name`, answering `version` with `version`, exiting `exit` at start. */
function buildFailing(name: string, version: string, exit: number): void {
  const error = buildFailingLevee({ outfile: join(out as string, name), version, target, exit });
  if (error !== undefined) {
    console.error(`cannot build ${name}: ${error}`);
    process.exit(1);
  }
}
buildFailing("levee-bad", bad, 3);
buildFailing("levee-bad2", bad2, 2);
console.log(
  `built levee-old (${pkg.version}), levee-new (${next}), levee-bad (${bad}, exits 3), levee-bad2 (${bad2}, exits 2) in ${out}`,
);
