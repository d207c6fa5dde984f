// `levee install` / `levee uninstall` as a user runs them: --dry-run from source, bad input, a
// real install from a compiled binary into --root (never into this host's /), and the unit files
// checked by systemd-analyze verify.
import { beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanEnv, makeTempDir as makeHarnessTempDir } from "../harness/cluster.ts";

const REPO = join(import.meta.dir, "..", "..");

const makeTempDir = () => makeHarnessTempDir("levee-install-test-");
const SOURCE = [process.execPath, join(REPO, "src/cli/main.ts")];

async function run(argv: string[]) {
  const proc = Bun.spawn(argv, {
    cwd: REPO,
    env: { ...process.env, ...cleanEnv() },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [code, stdout, stderr] = await Promise.all([
    proc.exited,
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
  ]);
  return { code, stdout, stderr };
}

async function expectUsageError(args: string[], pattern: RegExp) {
  const r = await run([...SOURCE, ...args]);
  expect(r.code).toBe(2);
  expect(r.stdout).toBe("");
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
}

const mode = (path: string) => statSync(path).mode & 0o777;

const ANALYZE =
  Bun.which("systemd-analyze") ??
  (existsSync("/usr/bin/systemd-analyze") ? "/usr/bin/systemd-analyze" : null);
const analyzeMissing = ANALYZE ? undefined : "systemd-analyze not found (Debian package systemd)";
if (analyzeMissing && !process.env.CI) console.warn(`skipping systemd-analyze verify: ${analyzeMissing}`);

describe("from source", () => {
  test("--dry-run prints every file and command, the token masked, and changes nothing", async () => {
    const args = [
      "install",
      "--mode",
      "edge",
      "--cloud",
      "http://10.0.0.1:7400",
      "--token",
      "abc",
      "--dry-run",
    ];
    const r = await run([...SOURCE, ...args]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    for (const header of [
      "==> /usr/local/bin/levee (mode 0755) <==",
      "==> /etc/systemd/system/levee-edge.service (mode 0644, ",
      "==> /etc/levee/edge.yaml (mode 0644, ",
      "==> /etc/levee/edge.env (mode 0600, ",
    ])
      expect(r.stdout).toContain(header);
    expect(r.stdout).toContain("runs from source (");
    expect(r.stdout).toContain("ExecStart=/usr/local/bin/levee edge --config /etc/levee/edge.yaml");
    expect(r.stdout).toContain("cloud: http://10.0.0.1:7400");
    expect(r.stdout).toContain("LEVEE_TOKEN=***");
    expect(r.stdout).toContain("systemctl enable --now --no-block levee-edge.service");
    expect(r.stdout).not.toContain("abc");
  });

  test("bad input: one line naming the flag, exit 2", async () => {
    await expectUsageError(
      ["install", "--mode", "foo"],
      /^levee install: flag --mode: expected one of cloud, edge/,
    );
    await expectUsageError(["install", "--mode", "edge"], /^levee install: missing required flag --cloud\b/);
    await expectUsageError(["install", "--mode", "edge", "--cloud", "ftp://x"], /flag --cloud: /);
    await expectUsageError(["install", "--cloud", "http://x:7400"], /missing required flag --mode/);
    await expectUsageError(["install", "--mode", "cloud", "--agent-port", "0", "--dry-run"], /--agent-port/);
    await expectUsageError(["uninstall", "--mode", "foo"], /^levee uninstall: flag --mode: expected one of/);
  });

  test("a real install from source is refused, pointing at the compiled binary", async () => {
    const root = makeTempDir();
    await expectUsageError(["install", "--mode", "cloud", "--root", root], /dist\/levee-linux-/);
    expect(readdirSync(root)).toEqual([]);
  });
});

describe("from a compiled binary, into --root", () => {
  const dir = makeTempDir();
  const binary = join(dir, "levee");

  beforeAll(async () => {
    const target = JSON.stringify(`bun-linux-${process.arch}`);
    const build = await run([
      process.execPath,
      "build",
      "--compile",
      join(REPO, "src/cli/main.ts"),
      "--outfile",
      binary,
      "--define",
      `LEVEE_TARGET=${target}`,
    ]);
    if (build.code !== 0) throw new Error(`bun build failed: ${build.stderr}`);
  }, 60_000);

  test("install writes the binary, unit, config and env file with their modes; uninstall removes them", async () => {
    const root = join(dir, "root");
    const installed = await run([binary, "install", "--mode", "cloud", "--root", root, "--node-name", "hub"]);
    expect(installed.stderr).toBe("");
    expect(installed.code).toBe(0);
    expect(installed.stdout).toContain("systemctl not run");
    const files = {
      "usr/local/bin/levee": 0o755,
      "etc/systemd/system/levee-cloud.service": 0o644,
      "etc/levee/cloud.yaml": 0o644,
      "etc/levee/cloud.env": 0o600,
    };
    for (const [path, expected] of Object.entries(files))
      expect([path, mode(join(root, path))]).toEqual([path, expected]);
    expect(await Bun.file(join(root, "etc/levee/cloud.yaml")).text()).toContain("node-name: hub");
    const unit = await Bun.file(join(root, "etc/systemd/system/levee-cloud.service")).text();
    expect(unit).toBe(await Bun.file(join(REPO, "systemd/levee-cloud.service")).text()); // embedded
    const copy = await run([join(root, "usr/local/bin/levee"), "version"]);
    expect(copy.stdout).toContain(`target: bun-linux-${process.arch}`);
    if (analyzeMissing === undefined) verifyUnits(root, ["levee-cloud.service"]);

    const data = join(root, "var/lib/levee");
    mkdirSync(data, { recursive: true });
    writeFileSync(join(data, "levee.db"), "");
    const removed = await run([binary, "uninstall", "--root", root]);
    expect(removed.stderr).toBe("");
    expect(removed.code).toBe(0);
    for (const path of Object.keys(files)) expect(existsSync(join(root, path))).toBe(false);
    expect(existsSync(join(data, "levee.db"))).toBe(true);
    expect(removed.stdout).toContain(`kept data dir ${data}`);
  }, 60_000);

  test("reinstall restores the env file's mode; uninstall --purge deletes the data dir of the config", async () => {
    const root = join(dir, "root2");
    const args = [
      "install",
      "--mode",
      "edge",
      "--root",
      root,
      "--cloud",
      "http://hub:7400",
      "--token",
      "t0k",
    ];
    expect((await run([binary, ...args, "--data-dir", "/srv/levee"])).code).toBe(0);
    expect(await Bun.file(join(root, "etc/levee/edge.env")).text()).toContain('LEVEE_TOKEN="t0k"');
    chmodSync(join(root, "etc/levee/edge.env"), 0o644); // a careless hand edit
    expect((await run([binary, ...args, "--data-dir", "/srv/levee"])).stdout).toContain("(mode set to 0600)");
    expect(mode(join(root, "etc/levee/edge.env"))).toBe(0o600);
    mkdirSync(join(root, "srv/levee/workers"), { recursive: true });
    writeFileSync(join(root, "srv/levee/levee.lock"), "");
    const purged = await run([binary, "uninstall", "--mode", "edge", "--purge", "--root", root]);
    expect(purged.code).toBe(0);
    expect(purged.stdout).toContain(`deleted data dir ${join(root, "srv/levee")}`);
    expect(existsSync(join(root, "srv/levee"))).toBe(false);
    expect(existsSync(join(root, "usr/local/bin/levee"))).toBe(false);
  }, 60_000);
});

// ---- systemd-analyze verify -------------------------------------------------------------------

/**
 * `systemd-analyze verify --root=DIR` checks units as installed under DIR: ExecStart must exist
 * there, and the units every service depends on (sysinit.target, ...) must be found there too,
 * so the host's unit directory is copied in. Warnings (unknown keys, bad values) fail the test.
 */
function verifyUnits(root: string, units: string[]) {
  if (!ANALYZE) throw new Error(`cannot verify the unit files: ${analyzeMissing}`);
  const hostUnits = ["/usr/lib/systemd/system", "/lib/systemd/system"].find(existsSync);
  if (!hostUnits) throw new Error("no systemd unit directory on this host");
  const target = join(root, "usr/lib/systemd/system");
  if (!existsSync(target)) cpSync(hostUnits, target, { recursive: true, verbatimSymlinks: true });
  const r = Bun.spawnSync([ANALYZE, "verify", `--root=${root}`, ...units], {
    stdout: "pipe",
    stderr: "pipe",
  });
  expect({ code: r.exitCode, output: `${r.stdout}${r.stderr}` }).toEqual({ code: 0, output: "" });
}

test.skipIf(!!analyzeMissing && !process.env.CI)(
  "the unit files in systemd/ and the hardened drop-in pass systemd-analyze verify",
  () => {
    const root = makeTempDir();
    mkdirSync(join(root, "usr/local/bin"), { recursive: true });
    mkdirSync(join(root, "etc/systemd/system"), { recursive: true });
    writeFileSync(join(root, "usr/local/bin/levee"), "#!/bin/sh\nexit 0\n");
    chmodSync(join(root, "usr/local/bin/levee"), 0o755);
    const units = ["levee-cloud.service", "levee-edge.service"];
    for (const unit of units) cpSync(join(REPO, "systemd", unit), join(root, "etc/systemd/system", unit));
    verifyUnits(root, units);

    // The opt-in hardened profile, as a drop-in of either unit.
    for (const unit of units) {
      mkdirSync(join(root, `etc/systemd/system/${unit}.d`), { recursive: true });
      cpSync(
        join(REPO, "systemd/levee-edge-hardened.conf"),
        join(root, `etc/systemd/system/${unit}.d/hardened.conf`),
      );
    }
    verifyUnits(root, units);
    // The check is real: a misspelt directive fails it, in a unit and in a drop-in (so it is read).
    const complaint = (file: string, text: string, unit: string) => {
      writeFileSync(join(root, "etc/systemd/system", file), text);
      return Bun.spawnSync([ANALYZE as string, "verify", `--root=${root}`, unit], {
        stderr: "pipe",
      }).stderr.toString();
    };
    expect(
      complaint("bad.service", "[Service]\nExecStart=/usr/local/bin/levee\nKilMode=process\n", "bad.service"),
    ).toContain("KilMode");
    expect(
      complaint("levee-edge.service.d/typo.conf", "[Service]\nProtectSistem=strict\n", "levee-edge.service"),
    ).toContain("ProtectSistem");
  },
);
