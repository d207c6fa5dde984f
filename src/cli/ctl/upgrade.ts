// `levee ctl upgrade --binary TARGET=PATH[,...] [...]`: pushes each binary as an artifact, then
// starts a rollout (POST /api/v1/upgrades) and prints it; `upgrade status` shows each node's
// progress (GET /api/v1/upgrades/current); `upgrade pause|resume|abort` (POST .../ACTION). The
// version is what the binaries say (`BINARY version`, for the one that runs on this machine),
// else --binary-version.
import { basename } from "node:path";
import type { UpgradeStatus } from "../../cloud/upgrade/upgrade-driver.ts";
import type { Options } from "../../config/schema.ts";
import { probeBinary } from "../../node/upgrade/binary-probe.ts";
import { BUILD_TARGETS, isBuildTarget } from "../../runtime/build-targets.ts";
import { UsageError } from "../../runtime/errors.ts";
import { uploadFile } from "./artifact.ts";
import { type CtlContext, takeArgs } from "./context.ts";
import { renderTable, toJson, toYaml } from "./format.ts";

const ACTIONS = ["status", "pause", "resume", "abort"] as const;

export async function upgrade(ctx: CtlContext): Promise<number> {
  const [action] = takeArgs(ctx.args, 1);
  if (action === undefined) return start(ctx);
  if (!(ACTIONS as readonly string[]).includes(action))
    throw new UsageError(
      `unknown action "${action}"; one of: ${ACTIONS.join(", ")} (or none, with --binary)`,
    );
  const answer =
    action === "status"
      ? await ctx.client().request<UpgradeStatus>("GET", "/upgrades/current")
      : await ctx.client().request<UpgradeStatus>("POST", `/upgrades/current/${action}`);
  print(ctx, answer);
  return 0;
}

/** "linux-x64=a,linux-arm64=b" → [{target, path}], each target once and known. */
export function parseBinaries(text: string | undefined): { target: string; path: string }[] {
  if (!text) throw new UsageError("missing --binary TARGET=PATH (e.g. --binary linux-x64=./levee)");
  const seen = new Set<string>();
  return text.split(",").map((part) => {
    const eq = part.indexOf("=");
    const target = part.slice(0, eq).trim();
    const path = part.slice(eq + 1).trim();
    if (eq <= 0 || path === "") throw new UsageError(`--binary: expected TARGET=PATH, not "${part}"`);
    if (!isBuildTarget(target))
      throw new UsageError(`--binary: unknown target ${target}; targets: ${BUILD_TARGETS.join(", ")}`);
    if (seen.has(target)) throw new UsageError(`--binary: target ${target} given twice`);
    seen.add(target);
    return { target, path };
  });
}

/** The options this subcommand reads besides ctl's own (main.ts validated them). */
type UpgradeOptions = CtlContext["options"] &
  Partial<Pick<Options, "binary" | "binaryVersion" | "selector">> &
  Pick<Options, "maxUnavailable" | "pause" | "allowDowngrade" | "includeCloud">;

async function start(ctx: CtlContext): Promise<number> {
  const o = ctx.options as UpgradeOptions;
  const binaries = parseBinaries(o.binary);
  const version = o.binaryVersion ?? (await versionOf(binaries.map((b) => b.path)));
  const pushed: { target: string; sha256: string }[] = [];
  for (const b of binaries) {
    const answer = await uploadFile(ctx, b.path, `levee-${version}-${b.target}`.slice(0, 200));
    pushed.push({ target: b.target, sha256: answer.artifact.sha256 });
    if (o.output === "table")
      ctx.out(`pushed ${basename(b.path)} for ${b.target}: ${answer.artifact.sha256}\n`);
  }
  const answer = await ctx.client().request<UpgradeStatus>("POST", "/upgrades", {
    version,
    binaries: pushed,
    ...(o.selector ? { selector: o.selector } : {}),
    maxUnavailable: o.maxUnavailable,
    pause: o.pause,
    timeout: o.timeout,
    allowDowngrade: o.allowDowngrade,
    includeCloud: o.includeCloud,
  });
  print(ctx, answer);
  return 0;
}

/** The version the first binary that runs here prints; a usage error when none does. */
async function versionOf(paths: string[]): Promise<string> {
  for (const path of paths) {
    try {
      return (await probeBinary(path, 10_000)).version;
    } catch {
      // not runnable here (another architecture): the next one
    }
  }
  throw new UsageError(
    "none of the binaries runs on this machine to tell its version: give --binary-version",
  );
}

function print(ctx: CtlContext, s: UpgradeStatus): void {
  const { output } = ctx.options;
  if (output === "json" || output === "yaml") {
    ctx.out(output === "json" ? toJson(s) : toYaml(s));
    return;
  }
  const r = s.rollout;
  ctx.out(
    `rollout ${r.id} to ${r.version}: ${r.state}${r.reason ? ` (${r.reason})` : ""}; ` +
      `max unavailable ${r.maxUnavailable}, targets ${r.targets.join(", ")}\n`,
  );
  ctx.out(
    renderTable(
      ["NODE", "STATE", "FROM", "TO", "REASON"],
      s.nodes.map((n) => [n.node, n.state, n.from || "-", n.to, n.reason || ""]),
    ),
  );
}
