// Flags, environment and config file: precedence, and one clear line for every kind of bad input.
import { describe, expect, test } from "bun:test";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadOptions } from "../../src/config/load.ts";
import { optionsFor } from "../../src/config/schema.ts";
import { UsageError } from "../../src/runtime/errors.ts";
import { makeTempDir } from "../harness/cluster.ts";

const dir = makeTempDir();
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function load(command: "cloud" | "edge", argv: string[], env: Record<string, string> = {}) {
  return loadOptions({ command: `levee ${command}`, keys: optionsFor(command), argv, env }).options;
}

function failure(command: "cloud" | "edge", argv: string[], env: Record<string, string> = {}): string {
  try {
    load(command, argv, env);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    const message = (err as Error).message;
    expect(message).not.toContain("\n");
    return message;
  }
  throw new Error("expected a UsageError");
}

describe("precedence: flag > env > file > default", () => {
  const config = file(
    "cloud.yaml",
    "api-listen: ':7001'\nmqtt-listen: ':7002'\nlog-level: warn\nnode-name: from-file\n",
  );

  test("defaults when nothing is given", () => {
    const o = load("cloud", []);
    expect(o.apiListen).toBe(":7400");
    expect(o.mqttListen).toBe(":1883");
    expect(o.bindAddress).toBe("0.0.0.0");
    expect(o.agentPort).toBe(7401);
    expect(o.logLevel).toBe("info");
  });

  test("file over default, env over file, flag over env", () => {
    const env = { LEVEE_CONFIG: config, LEVEE_MQTT_LISTEN: ":7102", LEVEE_LOG_LEVEL: "error" };
    const o = load("cloud", ["--log-level", "debug"], env);
    expect(o.apiListen).toBe(":7001"); // file
    expect(o.mqttListen).toBe(":7102"); // env beats file
    expect(o.logLevel).toBe("debug"); // flag beats env
    expect(o.nodeName).toBe("from-file");
  });

  test("--config flag and --flag=value form", () => {
    const o = load("cloud", [`--config=${config}`, "--api-listen=127.0.0.1:9"]);
    expect(o.apiListen).toBe("127.0.0.1:9");
    expect(o.mqttListen).toBe(":7002");
  });

  test("numbers from env and file are coerced", () => {
    expect(load("cloud", [], { LEVEE_AGENT_PORT: "7999" }).agentPort).toBe(7999);
    expect(load("cloud", ["--config", file("port.yaml", "agent-port: 7998\n")]).agentPort).toBe(7998);
  });

  test("environment variables of other commands are ignored", () => {
    expect(load("edge", ["--cloud", "http://c:7400"], { LEVEE_API_LISTEN: "garbage" }).cloud).toBe(
      "http://c:7400",
    );
  });
});

describe("bad input names the flag, variable or field", () => {
  test("unknown flag", () => {
    expect(failure("cloud", ["--bogus"])).toBe("levee cloud: unknown flag --bogus; see --help");
  });

  test("unknown flag close to a real one", () => {
    expect(failure("cloud", ["--api-listn", ":1"])).toContain("did you mean --api-listen?");
  });

  test("flag without its value", () => {
    expect(failure("cloud", ["--api-listen"])).toBe("levee cloud: flag --api-listen needs a value");
  });

  test("bad value from a flag", () => {
    expect(failure("cloud", ["--api-listen", "abc"])).toBe(
      'levee cloud: flag --api-listen: expected HOST:PORT or :PORT, got "abc"',
    );
    expect(failure("cloud", ["--api-listen", ":70000"])).toContain("between 1 and 65535");
    expect(failure("cloud", ["--log-format", "xml"])).toBe(
      'levee cloud: flag --log-format: expected one of json, text, got "xml"',
    );
    expect(failure("cloud", ["--node-name", "Not_A_Label"])).toContain(
      "flag --node-name: must be a DNS subdomain",
    );
    expect(load("cloud", ["--node-name", "cloud.kubeedge"]).nodeName).toBe("cloud.kubeedge");
    expect(
      load("edge", ["--cloud", "http://10.0.0.1:7400"], { LEVEE_NODE_NAME: "edge.site-a" }).nodeName,
    ).toBe("edge.site-a");
    expect(failure("edge", ["--node-name", "edge..site-a"])).toContain(
      "flag --node-name: must be a DNS subdomain",
    );
    expect(failure("edge", ["--cloud", "ftp://x"])).toContain(
      "flag --cloud: expected an http:// or https:// URL",
    );
  });

  test("bad value from the environment", () => {
    expect(failure("cloud", [], { LEVEE_AGENT_PORT: "seven" })).toBe(
      'levee cloud: environment variable LEVEE_AGENT_PORT: expected a port number, got "seven"',
    );
  });

  test("bad value from the config file", () => {
    const path = file("bad-value.yaml", "mqtt-listen: nope\n");
    expect(failure("cloud", ["--config", path])).toBe(
      `levee cloud: config file ${path}: field mqtt-listen: expected HOST:PORT or :PORT, got "nope"`,
    );
  });

  test("missing required flag", () => {
    expect(failure("edge", [])).toStartWith(
      "levee edge: missing required flag --cloud (or LEVEE_CLOUD, or cloud: in the config file)",
    );
  });

  test("secret values are not echoed", () => {
    expect(failure("edge", ["--cloud", "http://c", "--token", ""])).not.toContain('got ""');
  });

  test("config file that does not exist", () => {
    expect(failure("cloud", ["--config", join(dir, "missing.yaml")])).toBe(
      `levee cloud: cannot read config file ${join(dir, "missing.yaml")}: no such file`,
    );
  });

  test("config file that cannot be read", () => {
    if (process.getuid?.() === 0) {
      // root reads any file; a directory is unreadable as a file for everyone
      expect(failure("cloud", ["--config", dir])).toStartWith(
        `levee cloud: cannot read config file ${dir}: is a directory`,
      );
    } else {
      const path = file("secret.yaml", "log-level: info\n");
      chmodSync(path, 0);
      expect(failure("cloud", ["--config", path])).toContain("permission denied");
    }
  });

  test("config file that is not YAML", () => {
    const path = file("broken.yaml", "api-listen: ':1'\n  bad: [\n");
    const message = failure("cloud", ["--config", path]);
    expect(message).toStartWith(`levee cloud: config file ${path} is not valid YAML (line 2`);
  });

  test("config file that is not a mapping", () => {
    const path = file("list.yaml", "- a\n- b\n");
    expect(failure("cloud", ["--config", path])).toBe(
      `levee cloud: config file ${path} must be a mapping of option names to values`,
    );
  });

  test("config file with an unknown field", () => {
    const path = file("unknown.yaml", "api-listen: ':1'\ncolour: blue\n");
    expect(failure("cloud", ["--config", path])).toBe(
      `levee cloud: config file ${path}: unknown field "colour"`,
    );
  });

  test("config file field of another mode", () => {
    const path = file("edge-only.yaml", "cloud: http://c:7400\n");
    expect(failure("cloud", ["--config", path])).toContain('unknown field "cloud"');
  });

  test("config file with camelCase field gets a hint", () => {
    const path = file("camel.yaml", "dataDir: /x\n");
    expect(failure("cloud", ["--config", path])).toContain("fields are written like flags, e.g. data-dir");
  });

  test("unexpected positional argument", () => {
    expect(failure("cloud", ["extra"])).toBe('levee cloud: unexpected argument "extra"');
  });
});
