// What a levee binary says it is: runs `PATH version`, bounded in time, and reads its
// `levee VERSION` and `target: TARGET` lines. The node checks a downloaded binary with it before
// the swap (upgrade-effects.ts); `levee ctl upgrade` asks the binaries it pushes for their version.

/** Throws when the binary does not run here, or its output is not levee's. */
export async function probeBinary(
  path: string,
  timeoutMs: number,
): Promise<{ version: string; target: string }> {
  const proc = Bun.spawn([path, "version"], { stdout: "pipe", stderr: "ignore", stdin: "ignore" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  const [code, out] = await Promise.all([proc.exited, new Response(proc.stdout).text()]);
  clearTimeout(timer);
  if (code !== 0)
    throw new Error(`the new binary does not run here: \`${path} version\` exited with ${code}`);
  const version = /^levee (\S+)$/m.exec(out)?.[1];
  const target = /^target: (\S+)/m.exec(out)?.[1];
  if (!version || !target)
    throw new Error(`the new binary's \`version\` output is not levee's: ${out.slice(0, 200)}`);
  return { version, target };
}
