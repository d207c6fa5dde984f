// The levee command line as a user meets it: help that lists every flag with its default and
// environment variable, version, and bad input → exit 2 with one line and no stack trace.
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { commands } from "../../src/cli/commands/index.ts";
import { envName, flagName, isRequired, optionMeta, staticDefault } from "../../src/config/schema.ts";
import { makeTempDir, runLevee } from "../harness/cluster.ts";

async function expectUsageError(args: string[], expected: string | RegExp, env: Record<string, string> = {}) {
  const r = await runLevee(args, { env });
  expect(r.code).toBe(2);
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  if (typeof expected === "string") expect(lines[0]).toBe(expected);
  else expect(lines[0]).toMatch(expected);
  expect(r.stdout).toBe("");
}

describe("help", () => {
  test("levee --help lists every command and every flag with its default and env variable", async () => {
    const r = await runLevee(["--help"]);
    expect(r.code).toBe(0);
    for (const command of commands) {
      expect(r.stdout).toContain(`  ${command.name} `);
      for (const key of command.options) {
        expect(r.stdout).toContain(`--${flagName(key)}`);
        const meta = optionMeta(key);
        if (!meta.flagOnly) expect(r.stdout).toContain(`env ${envName(key)}`);
      }
    }
  });

  for (const command of commands) {
    test(`levee ${command.name} --help shows each flag's default or that it is required`, async () => {
      const r = await runLevee([command.name, "--help"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toStartWith(`Usage: ${command.usage}`);
      for (const key of command.options) {
        const lines = r.stdout.split("\n");
        const line = lines.findIndex((l) => new RegExp(`^\\s+(-\\w, )?--${flagName(key)}\\b`).test(l));
        expect(line).toBeGreaterThanOrEqual(0);
        // the flag's row unwrapped: its line and the indented continuation lines below it
        const rest = lines.slice(line + 1);
        const end = rest.findIndex((l) => !/^ {6,}\S/.test(l));
        const text = [lines[line], ...rest.slice(0, end)].join(" ").replace(/\s+/g, " ");
        const meta = optionMeta(key);
        if (isRequired(key)) expect(text).toContain("required");
        else if (meta.defaultText) expect(text).toContain(`default: ${meta.defaultText}`);
        else if (staticDefault(key) && staticDefault(key) !== "false")
          expect(text).toContain(`default: ${staticDefault(key)}`);
      }
    });
  }

  test("levee help edge is levee edge --help", async () => {
    const a = await runLevee(["help", "edge"]);
    const b = await runLevee(["edge", "--help"]);
    expect(a.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
  });

  test("levee without a command prints help and exits 2", async () => {
    const r = await runLevee([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain("Usage: levee <command>");
  });
});

describe("version", () => {
  test("prints version, commit, target and Bun version", async () => {
    const r = await runLevee(["version"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^levee \d+\.\d+\.\d+\ncommit: \S+\ntarget: bun-linux-\S+.*\nbun: \d+\.\d+\.\d+\n$/,
    );
    expect((await runLevee(["--version"])).stdout).toBe(r.stdout);
  });
});

describe("bad input: exit 2, one line naming the flag or field", () => {
  const dir = makeTempDir();

  test("unknown command", () =>
    expectUsageError(["fly"], /^levee: unknown command "fly"; commands: cloud, edge, ctl, demo, install/));
  test("flag before the command", () =>
    expectUsageError(["--data-dir", "/x"], /expected a command before flag --data-dir/));
  test("unknown flag", () =>
    expectUsageError(["cloud", "--colour"], "levee cloud: unknown flag --colour; see --help"));
  test("bad flag value", () =>
    expectUsageError(
      ["cloud", "--mqtt-listen", "1883"],
      'levee cloud: flag --mqtt-listen: expected HOST:PORT or :PORT, got "1883"',
    ));
  test("bad env value", () =>
    expectUsageError(
      ["edge", "--cloud", "http://c"],
      'levee edge: environment variable LEVEE_LOG_FORMAT: expected one of json, text, got "yaml"',
      {
        LEVEE_LOG_FORMAT: "yaml",
      },
    ));
  test("missing required flag", () =>
    expectUsageError(["edge"], /^levee edge: missing required flag --cloud/));
  test("unreadable config file", () =>
    expectUsageError(
      ["cloud", "--config", join(dir, "nope.yaml")],
      `levee cloud: cannot read config file ${join(dir, "nope.yaml")}: no such file`,
    ));
  test("invalid config file", () => {
    const path = join(dir, "bad.yaml");
    writeFileSync(path, "api-listen: [unclosed\n");
    return expectUsageError(
      ["cloud", "--config", path],
      new RegExp(`^levee cloud: config file ${path} is not valid YAML \\(line \\d+, column \\d+\\): `),
    );
  });
  test("config file field with a bad value", () => {
    const path = join(dir, "badfield.yaml");
    writeFileSync(path, "agent-port: 0\n");
    return expectUsageError(
      ["cloud", "--config", path],
      `levee cloud: config file ${path}: field agent-port: expected a port between 1 and 65535, got "0"`,
    );
  });
  test("unknown ctl subcommand", () =>
    expectUsageError(["ctl", "frobnicate"], /^levee ctl: unknown subcommand "frobnicate"; one of: /));
});
