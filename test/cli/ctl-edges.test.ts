// The edges of `levee ctl` as a user meets them: help per subcommand, "did you mean" for
// subcommands and kinds, shell completion that loads in bash and completes a kind, and contexts
// (several clusters, each a server and a token file) that pick where a command goes.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { leveeCommand, makeTempDir, runLevee } from "../harness/cluster.ts";

describe("help per subcommand", () => {
  test("levee ctl get --help is get's usage and flags, not the whole ctl help", async () => {
    const r = await runLevee(["ctl", "get", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toStartWith("Usage: levee ctl get KIND [NAME] [-l SELECTOR] [-w] [-o ");
    expect(r.stdout).toMatch(/\n {2}-o, --output FORMAT /);
    expect(r.stdout).toMatch(/\nConnection flags:\n {2}--server URL /);
    expect(r.stdout).not.toContain("broker-config");
    expect(r.stdout).not.toContain("--ttl");
    // the same through `levee ctl help get`
    expect((await runLevee(["ctl", "help", "get"])).stdout).toBe(r.stdout);
  });

  test("every subcommand in ctl's help has its own help", async () => {
    const whole = (await runLevee(["ctl", "--help"])).stdout;
    const names = [...whole.matchAll(/^ {2}([a-z-]+)\b/gm)].map((m) => m[1] ?? "");
    expect(names).toContain("apply");
    expect(names).toContain("completion");
    for (const name of ["apply", "logs", "config", "completion"]) {
      const r = await runLevee(["ctl", name, "--help"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toStartWith(`Usage: levee ctl ${name}`);
    }
  });
});

describe("did you mean", () => {
  test("a mistyped subcommand", async () => {
    const r = await runLevee(["ctl", "gte", "nodes"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toStartWith(
      'levee ctl: unknown subcommand "gte" (did you mean "get"?); one of: apply, ',
    );
  });
  test("a mistyped kind", async () => {
    const r = await runLevee(["ctl", "get", "servces", "--server", "http://127.0.0.1:9"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toStartWith(
      'levee ctl get: unknown kind "servces" (did you mean "services"?); one of: ',
    );
  });
});

describe("shell completion", () => {
  const dir = makeTempDir();
  const script = join(dir, "levee.bash");

  test("the bash script loads and completes kinds, subcommands and flags", async () => {
    const r = await runLevee(["ctl", "completion", "bash"]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    writeFileSync(script, r.stdout);
    const complete = (words: string[]) => {
      const line = `source ${script}; COMP_WORDS=(${words.join(" ")}); COMP_CWORD=${words.length - 1}; _levee; echo "\${COMPREPLY[@]}"`;
      const out = Bun.spawnSync(["bash", "-c", line], { stderr: "pipe" });
      expect(out.stderr.toString()).toBe("");
      return out.stdout.toString().trim().split(" ").sort();
    };
    expect(complete(["levee", "ctl", "get", "no"])).toEqual(["no", "node", "nodes"]);
    expect(complete(["levee", "ctl", "ge"])).toEqual(["get"]);
    expect(complete(["levee", "ctl", "apply", "--wa"])).toEqual(["--wait"]);
    expect(complete(["levee", "ctl", "completion", "z"])).toEqual(["zsh"]);
    expect(complete(["levee", "cl"])).toEqual(["cloud"]);
    expect(complete(["levee", "cloud", "--api-l"])).toEqual(["--api-listen"]);
  });

  test("through `source <(levee ctl completion bash)`, as the help says", () => {
    const levee = leveeCommand().join(" ");
    const line = `source <(${levee} ctl completion bash); COMP_WORDS=(levee ctl get no); COMP_CWORD=3; _levee; echo \${COMPREPLY[@]}`;
    const out = Bun.spawnSync(["bash", "-c", line]);
    expect(out.stdout.toString().trim()).toBe("node nodes no");
  });

  test("zsh and fish scripts name the same words", async () => {
    const zsh = await runLevee(["ctl", "completion", "zsh"]);
    expect(zsh.stdout).toContain("bashcompinit");
    expect(zsh.stdout).toContain("complete -F _levee levee");
    const fish = await runLevee(["ctl", "completion", "fish"]);
    expect(fish.stdout).toContain(
      'complete -c levee -n "__fish_seen_subcommand_from ctl; and __fish_seen_subcommand_from get" -a "node nodes no ',
    );
    expect(fish.stdout).toContain("-l wait");
    const bad = await runLevee(["ctl", "completion", "tcsh"]);
    expect(bad).toMatchObject({
      code: 2,
      stderr: 'levee ctl completion: unknown shell "tcsh"; one of: bash, zsh, fish\n',
    });
  });
});

describe("contexts", () => {
  const seen: { cluster: string; auth: string | null }[] = [];
  const serve = (cluster: string) =>
    Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(req) {
        seen.push({ cluster, auth: req.headers.get("authorization") });
        return Response.json({ items: [] });
      },
    });
  const a = serve("a");
  const b = serve("b");
  afterAll(() => {
    a.stop(true);
    b.stop(true);
  });
  const home = makeTempDir();
  const env = { XDG_CONFIG_HOME: join(home, "config"), HOME: home };
  const file = join(home, "config", "levee", "ctl.yaml");
  writeFileSync(join(home, "a.token"), "token-a\n");
  writeFileSync(join(home, "b.token"), "token-b\n");
  const ctl = (...args: string[]) => runLevee(["ctl", ...args], { env });

  test("set-context, use-context: get goes to the current context's server with its token", async () => {
    const none = await ctl("config", "current-context");
    expect(none.code).toBe(2);
    for (const [name, server] of [
      ["site-a", a],
      ["site-b", b],
    ] as const) {
      const r = await ctl(
        "config",
        "set-context",
        name,
        "--server",
        `http://127.0.0.1:${server.port}`,
        "--token-file",
        join(home, `${name.slice(-1)}.token`),
      );
      expect(r).toMatchObject({ code: 0, stdout: `context "${name}" created in ${file}\n`, stderr: "" });
    }
    expect(existsSync(file)).toBe(true);
    expect(statSync(join(home, "config", "levee")).mode & 0o777).toBe(0o700);
    expect(await ctl("config", "use-context", "site-b")).toMatchObject({
      code: 0,
      stdout: 'switched to context "site-b"\n',
    });
    expect((await ctl("config", "current-context")).stdout).toBe("site-b\n");
    const list = await ctl("config", "get-contexts");
    expect(list.stdout.split("\n")[2]).toStartWith("*         site-b   http://127.0.0.1:");

    seen.length = 0;
    expect((await ctl("get", "nodes")).code).toBe(0);
    // --context picks another for one command
    expect((await ctl("get", "nodes", "--context", "site-a")).code).toBe(0);
    expect(seen).toEqual([
      { cluster: "b", auth: "Bearer token-b" },
      { cluster: "a", auth: "Bearer token-a" },
    ]);
  });

  test("flags win over the context; --data-dir leaves the current context aside", async () => {
    seen.length = 0;
    await ctl("get", "nodes", "--server", `http://127.0.0.1:${a.port}`, "--token", "flag");
    expect(seen).toEqual([{ cluster: "a", auth: "Bearer flag" }]);
    const dataDir = makeTempDir();
    writeFileSync(join(dataDir, "api.url"), `http://127.0.0.1:${a.port}\n`);
    writeFileSync(join(dataDir, "admin.token"), "admin\n");
    seen.length = 0;
    await ctl("get", "nodes", "--data-dir", dataDir);
    expect(seen).toEqual([{ cluster: "a", auth: "Bearer admin" }]);
  });

  test("an unknown context is one line naming the known ones; the file stays valid YAML", async () => {
    const r = await ctl("get", "nodes", "--context", "site-c");
    expect(r).toMatchObject({
      code: 2,
      stderr: `levee ctl get: no context "site-c" in ${file}; contexts: site-a, site-b\n`,
    });
    expect(readFileSync(file, "utf8")).toContain("current-context: site-b\n");
    expect((await ctl("config", "delete-context", "site-b")).code).toBe(0);
    expect((await ctl("config", "current-context")).code).toBe(2);
  });
});
