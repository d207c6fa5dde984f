// `levee ctl artifact push FILE [--name NAME] | ls | rm SHA256`: content-addressed blobs (DNN models,
// ...) that workers mount. push hashes the file, then streams it to the cloud (never read whole into
// memory) with its sha256, so a byte changed on the way is refused; it prints a mount snippet and
// the sha256 alone on the last line (`levee ctl artifact push model.onnx | tail -1`).
import { createHash } from "node:crypto";
import { statSync } from "node:fs";
import { basename } from "node:path";
import { SHA256_HEX } from "../../manifest/artifact.ts";
import { fileNameProblem } from "../../manifest/fields.ts";
import { UsageError } from "../../runtime/errors.ts";
import { describeFsError } from "../../runtime/fs-errors.ts";
import { type CtlContext, takeArgs } from "./context.ts";
import { age, renderTable, toJson, toYaml } from "./format.ts";

export interface ArtifactInfo {
  sha256: string;
  name: string;
  size: number;
  createdAt: string;
}

export interface PushAnswer {
  outcome: "created" | "unchanged";
  artifact: ArtifactInfo;
}

export function artifact(ctx: CtlContext): Promise<number> {
  return pushListRemove(ctx, "artifact", { push, list, remove });
}

type Action = (ctx: CtlContext, args: string[]) => Promise<number>;

/** `levee ctl COMMAND push|ls|rm ...` (ls also list, rm also delete). */
export function pushListRemove(
  ctx: CtlContext,
  command: string,
  actions: { push: Action; list: Action; remove: Action },
): Promise<number> {
  const [action, ...rest] = ctx.args;
  if (action === "push") return actions.push(ctx, rest);
  if (action === "ls" || action === "list") return actions.list(ctx, rest);
  if (action === "rm" || action === "delete") return actions.remove(ctx, rest);
  throw new UsageError(
    action === undefined
      ? `missing action: levee ctl ${command} push|ls|rm`
      : `unknown action "${action}"; one of: push, ls, rm`,
  );
}

async function push(ctx: CtlContext, args: string[]): Promise<number> {
  const [file] = takeArgs(args, 1);
  if (file === undefined) throw new UsageError("missing FILE: levee ctl artifact push FILE [--name NAME]");
  const answer = await uploadFile(ctx, file, ctx.options.name);

  const { output } = ctx.options;
  if (output === "json") ctx.out(toJson(answer));
  else if (output === "yaml") ctx.out(toYaml(answer));
  else {
    const stored = answer.artifact;
    ctx.out(
      `artifact ${stored.name}: ${answer.outcome} (${formatSize(stored.size)})\n` +
        `mount it in a Service template (spec.template.mounts):\n${indent(mountSnippet(stored), "  ")}` +
        `${stored.sha256}\n`,
    );
  }
  return 0;
}

async function list(ctx: CtlContext, args: string[]): Promise<number> {
  takeArgs(args, 0);
  const answer = await ctx.client().request<{ items: ArtifactInfo[] }>("GET", "/artifacts");
  return printItems(ctx, answer, "No artifacts.", ARTIFACT_HEADERS, artifactRows);
}

/** A list answer ({items}) printed as JSON, YAML or a table (`empty` when there are none). */
export function printItems<T>(
  ctx: CtlContext,
  answer: { items: T[] },
  empty: string,
  headers: readonly string[],
  rows: (items: readonly T[], now: number) => string[][],
): number {
  const { output } = ctx.options;
  if (output === "json") ctx.out(toJson(answer));
  else if (output === "yaml") ctx.out(toYaml(answer));
  else if (answer.items.length === 0) ctx.out(`${empty}\n`);
  else ctx.out(renderTable(headers, rows(answer.items, Date.now())));
  return 0;
}

async function remove(ctx: CtlContext, args: string[]): Promise<number> {
  const [sha256] = takeArgs(args, 1);
  if (sha256 === undefined) throw new UsageError("missing SHA256: levee ctl artifact rm SHA256");
  if (!SHA256_HEX.test(sha256))
    throw new UsageError(`"${sha256}" is not a sha256 (64 lower-case hex digits, see levee ctl artifact ls)`);
  const answer = await ctx.client().request<{ deleted: ArtifactInfo }>("DELETE", `/artifacts/${sha256}`);
  const { output } = ctx.options;
  if (output === "json") ctx.out(toJson(answer));
  else if (output === "yaml") ctx.out(toYaml(answer));
  else ctx.out(`artifact ${answer.deleted.name} (${answer.deleted.sha256}) deleted\n`);
  return 0;
}

/** Hashes a file and streams it to the cloud as an artifact (`name`: default the file's name). */
export async function uploadFile(
  ctx: CtlContext,
  file: string,
  nameFlag: string | undefined,
): Promise<PushAnswer> {
  let size: number;
  try {
    const stat = statSync(file);
    if (!stat.isFile()) throw new UsageError(`${file} is not a regular file`);
    size = stat.size;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`cannot read ${file}: ${describeFsError(err)}`);
  }
  const name = nameFlag ?? basename(file);
  const problem = fileNameProblem(name);
  if (problem) throw new UsageError(`${nameFlag ? "flag --name" : "the file's name"}: ${problem}`);

  const sha256 = await hashFile(file);
  const query = `name=${encodeURIComponent(name)}&sha256=${sha256}`;
  const body = { text: Bun.file(file).stream(), contentType: "application/octet-stream", length: size };
  return ctx.client().request<PushAnswer>("POST", `/artifacts?${query}`, body, new AbortController().signal);
}

/** The sha256 of a file, read as a stream. */
export async function hashFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of Bun.file(path).stream()) hash.update(chunk);
  return hash.digest("hex");
}

export const ARTIFACT_HEADERS = ["SHA256", "NAME", "SIZE", "AGE"];

export function artifactRows(items: readonly ArtifactInfo[], now: number): string[][] {
  return items.map((a) => [a.sha256, a.name, formatSize(a.size), age(a.createdAt, now)]);
}

/** 1536 → "1.5 KiB"; below 1 KiB in bytes. */
export function formatSize(bytes: number): string {
  const units = ["KiB", "MiB", "GiB", "TiB"];
  if (bytes < 1024) return `${bytes} B`;
  let value = bytes;
  let unit = "B";
  for (const u of units) {
    if (value < 1024) break;
    value /= 1024;
    unit = u;
  }
  return `${value.toFixed(1)} ${unit}`;
}

/** A `mounts:` entry for the artifact: containers see it under `target`, exec workers in `envName`. */
export function mountSnippet(stored: ArtifactInfo): string {
  const mount = {
    artifact: { sha256: stored.sha256, name: stored.name, size: stored.size },
    target: "/artifacts",
    envName: envNameFor(stored.name),
  };
  return toYaml({ mounts: [mount] });
}

/** model.onnx → MODEL_ONNX_PATH */
export function envNameFor(name: string): string {
  const base = name
    .toUpperCase()
    .replace(/[^A-Z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "");
  return `${/^[A-Z]/.test(base) ? base : `ARTIFACT_${base}`}_PATH`.replace(/__+/g, "_");
}

function indent(text: string, prefix: string): string {
  return text
    .split("\n")
    .map((line) => (line === "" ? line : prefix + line))
    .join("\n");
}
