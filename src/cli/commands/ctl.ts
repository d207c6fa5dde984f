// `levee ctl <subcommand>`: the client of the cloud API. Subcommands are added by the
// control-plane part (apply, get, describe, delete, token, schema); `status` reports whether
// the cloud is up and ready.
import { optionsFor } from "../../config/schema.ts";
import { UsageError } from "../../runtime/errors.ts";
import { defineCommand } from "../command.ts";

const SUBCOMMANDS: Record<string, string> = {
  status: "show whether the cloud API is up and ready, and why not",
};

export const ctlCommand = defineCommand({
  name: "ctl",
  summary: "talk to the cloud API (status; resources come with the control plane)",
  usage: "levee ctl <subcommand> [flags]",
  details: `Subcommands:\n${Object.entries(SUBCOMMANDS)
    .map(([name, text]) => `  ${name.padEnd(10)}${text}`)
    .join("\n")}`,
  options: optionsFor("ctl"),
  positionals: true,
  async run({ options, positionals }) {
    const [sub, ...rest] = positionals;
    if (!sub)
      throw new UsageError(`levee ctl: missing subcommand; one of: ${Object.keys(SUBCOMMANDS).join(", ")}`);
    if (!(sub in SUBCOMMANDS)) {
      throw new UsageError(
        `levee ctl: unknown subcommand "${sub}"; one of: ${Object.keys(SUBCOMMANDS).join(", ")}`,
      );
    }
    if (rest.length > 0) throw new UsageError(`levee ctl ${sub}: unexpected argument "${rest[0]}"`);
    const server = options.server ?? "http://127.0.0.1:7400";
    return status(server);
  },
});

async function status(server: string): Promise<number> {
  let res: Response;
  try {
    res = await fetch(new URL("/readyz", server), { signal: AbortSignal.timeout(5000) });
  } catch (err) {
    process.stderr.write(`levee ctl status: cannot reach ${server}: ${(err as Error).message}\n`);
    return 1;
  }
  const body = (await res.json().catch(() => ({}))) as { checks?: Record<string, string>; version?: string };
  process.stdout.write(
    `${server}: ${res.ok ? "ready" : "not ready"}${body.version ? ` (levee ${body.version})` : ""}\n`,
  );
  for (const [name, result] of Object.entries(body.checks ?? {})) {
    process.stdout.write(`  ${name.padEnd(10)}${result}\n`);
  }
  return res.ok ? 0 : 1;
}
