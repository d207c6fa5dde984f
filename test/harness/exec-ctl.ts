// `levee ctl exec` run as a process against a harness cluster, with input on its stdin: what the
// exec end-to-end and fault tests share.
import { type Cluster, cleanEnv, leveeCommand, REPO_ROOT } from "./cluster.ts";

/** `levee ctl exec ARGS` with `input` on its stdin (with -i); its exit code and output. */
export async function execCtl(cluster: Pick<Cluster, "cloud">, args: string[], input?: string) {
  const proc = Bun.spawn(
    // The server flags first: everything after `--` is the command.
    [
      ...leveeCommand(),
      "ctl",
      "exec",
      "--server",
      cluster.cloud.apiUrl,
      "--data-dir",
      cluster.cloud.dataDir,
      ...args,
    ],
    {
      env: { ...process.env, ...cleanEnv() },
      cwd: REPO_ROOT,
      stdin: input === undefined ? "ignore" : "pipe",
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  if (input !== undefined && proc.stdin) {
    proc.stdin.write(input);
    await proc.stdin.end();
  }
  const timer = setTimeout(() => proc.kill("SIGKILL"), 20_000);
  const [code, stdout, stderr] = await Promise.all([
    proc.exited,
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
  ]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}
