// The install/uninstall plan without touching the system: which files with which modes and
// contents, that flags come back from the YAML file and the token only from the env file (read
// with systemd's own parser where it is installed), and what uninstall removes, stops and keeps.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { maskEnvFile, mergeEnvFile, parseEnvFile, quoteEnvValue } from "../../src/cli/env-file.ts";
import {
  BINARY_PATH,
  configPath,
  envPath,
  type Mode,
  planInstall,
  planUninstall,
  UNIT_TEXT,
  unitPath,
} from "../../src/cli/install-plan.ts";
import { loadOptions } from "../../src/config/load.ts";
import { envName, type OptionKey, optionKeys, optionsFor } from "../../src/config/schema.ts";
import { makeTempDir as makeHarnessTempDir } from "../harness/cluster.ts";

const REPO = join(import.meta.dir, "..", "..");

const makeTempDir = () => makeHarnessTempDir("levee-install-test-");
function load(mode: Mode, argv: string[], env: Record<string, string> = {}) {
  return loadOptions({ command: `levee ${mode}`, keys: optionsFor(mode), argv, env }).options;
}

function plan(mode: Mode, argv: string[], files: Record<string, string> = {}, root = "/") {
  return planInstall({
    mode,
    options: load(mode, argv),
    root,
    binary: { source: "/tmp/levee", compiled: true },
    read: (path) => files[path],
  });
}

const fileOf = (p: ReturnType<typeof plan>, path: string) => {
  const file = p.files.find((f) => f.path === path);
  if (!file) throw new Error(`no ${path} in the plan`);
  return file;
};

describe("install plan", () => {
  test("edge: flags land in the YAML file, the token only in the env file (0600)", () => {
    const argv = ["--cloud", "http://10.0.0.1:7400", "--token", "s3cret", "--node-name", "cam-1"];
    const p = plan("edge", [...argv, "--agent-port", "7501", "--log-level", "info"]);
    expect(p.binary.path).toBe(BINARY_PATH);
    expect(p.files.map((f) => [f.path, f.mode, f.state])).toEqual([
      [unitPath("edge"), 0o644, "new"],
      [configPath("edge"), 0o644, "new"],
      [envPath("edge"), 0o600, "new"],
    ]);
    expect(fileOf(p, unitPath("edge")).content).toBe(UNIT_TEXT.edge);
    const yaml = fileOf(p, configPath("edge")).content;
    expect(yaml).toContain("cloud: http://10.0.0.1:7400");
    expect(yaml).toContain("node-name: cam-1");
    expect(yaml).toContain("agent-port: 7501");
    expect(yaml).not.toContain("log-level"); // the default: not pinned in the file
    expect(yaml).not.toContain("s3cret");
    const env = fileOf(p, envPath("edge"));
    expect(env.secret).toBe(true);
    expect(parseEnvFile(env.content).map((e) => [e.key, e.value])).toEqual([["LEVEE_TOKEN", "s3cret"]]);
    expect(p.commands.map((c) => c.argv.join(" "))).toEqual([
      "daemon-reload",
      "enable --now --no-block levee-edge.service",
    ]);
  });

  test("what the agent reads back from the YAML and env files equals the flags given", () => {
    const dir = makeTempDir();
    const cases: [Mode, string[]][] = [
      ["edge", ["--cloud", "https://hub:7400", "--token", 'a "b" c', "--bind-address", "10.1.2.3"]],
      ["cloud", ["--api-listen", ":7500", "--mqtt-url", "mqtt://broker:1883", "--data-dir", "/srv/levee"]],
      ["cloud", ["--node-name", "yes", "--advertise-address", "10.0.0.1", "--log-format", "text"]],
    ];
    for (const [mode, argv] of cases) {
      const p = plan(mode, argv);
      const yamlFile = join(dir, `${mode}.yaml`);
      writeFileSync(yamlFile, fileOf(p, configPath(mode)).content);
      const env = Object.fromEntries(
        parseEnvFile(fileOf(p, envPath(mode)).content).map((e) => [e.key, e.value]),
      );
      const { config: _, ...fromFiles } = load(mode, ["--config", yamlFile], env) as Record<string, unknown>;
      expect(fromFiles).toEqual(load(mode, argv));
    }
  });

  test("cloud: no secrets → the env file holds only comments; --root → no systemctl", () => {
    const p = plan("cloud", [], {}, "/tmp/pkg");
    expect(p.files.map((f) => f.path)).toEqual([
      "/tmp/pkg/etc/systemd/system/levee-cloud.service",
      "/tmp/pkg/etc/levee/cloud.yaml",
      "/tmp/pkg/etc/levee/cloud.env",
    ]);
    expect(parseEnvFile(fileOf(p, "/tmp/pkg/etc/levee/cloud.env").content)).toEqual([]);
    expect(p.commands).toEqual([]);
  });

  test("reinstall: changed YAML is backed up and its changed fields named; the env file keeps other lines", () => {
    const first = plan("edge", ["--cloud", "http://a:7400", "--token", "0ld-t0ken", "--log-level", "debug"]);
    const files = Object.fromEntries(first.files.map((f) => [f.path, f.content]));
    files[envPath("edge")] += "# proxy for the agent\nHTTPS_PROXY=http://proxy:3128\n";

    const same = plan("edge", ["--cloud", "http://a:7400", "--log-level", "debug"], files);
    expect(same.files.map((f) => f.state)).toEqual(["unchanged", "unchanged", "unchanged"]);
    expect(same.commands.map((c) => c.argv.join(" "))).toEqual([
      "daemon-reload",
      "enable levee-edge.service",
      "restart --no-block levee-edge.service",
    ]);

    const next = plan(
      "edge",
      ["--cloud", "http://b:7400", "--token", "n3w-t0ken", "--node-name", "n1"],
      files,
    );
    const yaml = fileOf(next, configPath("edge"));
    expect(yaml.state).toBe("changed");
    expect(yaml.backup).toBe(`${configPath("edge")}.bak`);
    expect(yaml.note).toStartWith("changed cloud; added node-name; removed log-level");
    const env = fileOf(next, envPath("edge"));
    expect(env.note).toBe("sets LEVEE_TOKEN, keeps its other lines");
    expect(parseEnvFile(env.content).map((e) => [e.key, e.value])).toEqual([
      ["HTTPS_PROXY", "http://proxy:3128"],
      ["LEVEE_TOKEN", "n3w-t0ken"],
    ]);
    expect(env.content).toContain("# proxy for the agent\n");
  });

  test("the units run the installed paths and keep workers alive", () => {
    for (const mode of ["cloud", "edge"] as const) {
      const unit = UNIT_TEXT[mode];
      expect(unit).toContain(`\nExecStart=${BINARY_PATH} ${mode} --config ${configPath(mode)}\n`);
      expect(unit).toContain(`\nEnvironmentFile=-${envPath(mode)}\n`);
      for (const line of [
        "Type=notify",
        "NotifyAccess=main",
        "WatchdogSec=60s",
        "TimeoutStartSec=infinity",
        "KillMode=process",
        "RestartPreventExitStatus=2",
        "Restart=always",
      ])
        expect(unit).toContain(`\n${line}\n`);
      for (const line of [
        "NoNewPrivileges=",
        "PrivateTmp=",
        "ProtectSystem=",
        "PrivateDevices=",
        "ProtectClock=",
      ])
        expect(unit).not.toContain(`\n${line}`);
    }
  });
});

describe("env file", () => {
  const tricky = [
    "plain",
    "with spaces",
    "  leading and trailing  ",
    'double "quotes"',
    "single 'quotes'",
    "back\\slash and trailing \\",
    "back`tick",
    "dollar $HOME $ {X} $",
    "#not a comment;=",
    "two\nlines",
    "tab\there",
    "ünïcødé ✓",
  ];

  test("every value reads back exactly (systemd's documented rules)", () => {
    for (const value of tricky) {
      const [entry] = parseEnvFile(`LEVEE_TOKEN=${quoteEnvValue(value)}\n`);
      expect(entry?.value).toBe(value);
    }
    expect(
      parseEnvFile('A = x  \\  y  \nB=\'q"\\\'\n# C=1\n;D=2\nE="a\\\nb\\c"').map((e) => e.value),
    ).toEqual(["x    y", 'q"\\', "ab\\c"]);
  });

  const generator = "/usr/lib/systemd/user-environment-generators/30-systemd-environment-d-generator";
  const generatorMissing = existsSync(generator)
    ? undefined
    : `${generator} not found (Debian package systemd)`;
  if (generatorMissing && !process.env.CI)
    console.warn(`skipping the systemd env-file test: ${generatorMissing}`);

  // systemd's environment.d generator parses with the same code as EnvironmentFile= and prints
  // what it read. Unlike EnvironmentFile= it then expands $NAME, so values with $ are left out.
  test.skipIf(!!generatorMissing && !process.env.CI)("systemd itself reads every value back exactly", () => {
    if (generatorMissing) throw new Error(`cannot run in CI: ${generatorMissing}`);
    const home = makeTempDir();
    mkdirSync(join(home, "environment.d"));
    const values = tricky.filter((v) => !v.includes("$"));
    const text = mergeEnvFile(undefined, "", Object.fromEntries(values.map((v, i) => [`LEVEE_T${i}`, v])));
    writeFileSync(join(home, "environment.d", "50-levee.conf"), text);
    const run = Bun.spawnSync([generator], { env: { XDG_CONFIG_HOME: home, HOME: home }, stderr: "pipe" });
    expect(run.stderr.toString()).toBe("");
    const printed = new Map(
      run.stdout
        .toString()
        .split("\n")
        .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
    );
    // The generator prints each value shell-quoted when needed: \" \\ \` \$ \n \t inside "...".
    const unquote = (raw = "") =>
      raw.startsWith('"')
        ? raw.slice(1, -1).replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c === "t" ? "\t" : c))
        : raw;
    values.forEach((value, i) => {
      expect(unquote(printed.get(`LEVEE_T${i}`))).toBe(value);
    });
  });

  test("--dry-run masking hides every value, multi-line ones too", () => {
    const text = `# c\nLEVEE_TOKEN=${quoteEnvValue("one\ntwo")}\nX='y'\n`;
    expect(maskEnvFile(text)).toBe("# c\nLEVEE_TOKEN=***\nX=***\n");
  });
});

describe("uninstall plan", () => {
  function uninstall(files: Record<string, string>, input: Partial<Parameters<typeof planUninstall>[0]>) {
    return planUninstall({
      root: "/",
      purge: false,
      exists: (path) => Object.keys(files).some((f) => f === path || f.startsWith(`${path}/`)),
      read: (path) => files[path],
      ...input,
    });
  }
  const edge = {
    [unitPath("edge")]: "",
    [configPath("edge")]: "data-dir: /srv/edge\n",
    [envPath("edge")]: "",
  };
  const cloud = { [unitPath("cloud")]: "", [configPath("cloud")]: "", [envPath("cloud")]: "" };
  const data = { "/srv/edge/levee.db": "", "/var/lib/levee/levee.lock": "", [BINARY_PATH]: "" };

  test("without --mode: stops every installed agent and its workers, removes all, keeps the data", () => {
    const p = uninstall({ ...edge, ...cloud, ...data }, {});
    expect(p.modes).toEqual(["cloud", "edge"]);
    expect(p.stop.map((c) => `${c.argv.join(" ")}${c.optional ? " (optional)" : ""}`)).toEqual([
      "disable --now levee-cloud.service",
      "kill --signal=SIGTERM levee-cloud.service (optional)",
      "disable --now levee-edge.service",
      "kill --signal=SIGTERM levee-edge.service (optional)",
    ]);
    expect(p.remove).toContain(BINARY_PATH);
    expect(p.remove).toHaveLength(7);
    expect(p.purge).toEqual([]);
    expect(p.keep).toEqual(["/var/lib/levee", "/srv/edge"]);
    expect(p.reload.map((c) => c.argv.join(" "))).toEqual(["daemon-reload"]);
  });

  test("--mode edge keeps the binary for the cloud; --purge deletes the data dir from its config", () => {
    const p = uninstall({ ...edge, ...cloud, ...data }, { mode: "edge", purge: true });
    expect(p.remove).toEqual([unitPath("edge"), configPath("edge"), envPath("edge")]);
    expect(p.purge).toEqual(["/srv/edge"]);
  });

  test("--purge never deletes a data dir the remaining agent uses, nor one without levee files", () => {
    const shared = uninstall(
      { ...edge, [configPath("edge")]: "", ...cloud, ...data },
      { mode: "edge", purge: true },
    );
    expect(shared.purge).toEqual([]);
    expect(shared.keep).toEqual(["/var/lib/levee"]);
    const home = { ...edge, "/home/pi/notes.txt": "" };
    expect(() => uninstall(home, { purge: true, dataDir: "/home/pi" })).toThrow(
      /refuses to delete \/home\/pi/,
    );
  });

  test("--root: paths under it, no systemctl", () => {
    const root = "/tmp/pkg";
    const files = Object.fromEntries(Object.entries(edge).map(([k, v]) => [join(root, k), v]));
    const p = uninstall(files, { root });
    expect(p.remove).toEqual(
      [unitPath("edge"), configPath("edge"), envPath("edge")].map((f) => join(root, f)),
    );
    expect([...p.stop, ...p.reload]).toEqual([]);
  });
});

describe("example files in systemd/", () => {
  test("every field of the YAML examples, commented or not, is valid for its mode", () => {
    const dir = makeTempDir();
    for (const mode of ["cloud", "edge"] as const) {
      const text = readFileSync(join(REPO, "systemd", `levee-${mode}.yaml.example`), "utf8");
      const file = join(dir, `${mode}.yaml`);
      writeFileSync(file, text.replace(/^# ([a-z-]+: )/gm, "$1"));
      const options = load(mode, ["--config", file]);
      expect(Object.values(options).filter((v) => v !== undefined).length).toBeGreaterThan(5);
    }
  });

  test("the env example names only LEVEE_* variables of real options", () => {
    const text = readFileSync(join(REPO, "systemd", "levee.env.example"), "utf8");
    const names = new Set(optionKeys.map((k: OptionKey) => envName(k)));
    const entries = parseEnvFile(text.replace(/^# (LEVEE_\w+=)/gm, "$1"));
    expect(entries.length).toBeGreaterThan(0);
    for (const e of entries) expect(names.has(e.key)).toBe(true);
  });
});
