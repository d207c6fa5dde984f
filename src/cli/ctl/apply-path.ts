// The path of POST /api/v1/apply as `levee ctl apply`, `apply --dry-run` and `diff` send it: one
// place that turns their flags into the query, so a dry run asks about the same apply.

export interface ApplyFlags {
  dryRun?: boolean;
  /** --staged MODE: the staging the cloud gives the file's Services that choose none. */
  staged?: string | undefined;
}

/** `/apply`, `/apply?dryRun=true`, `/apply?staged=all-nodes`, or both. */
export function applyPath(flags: ApplyFlags): string {
  const query = new URLSearchParams();
  if (flags.dryRun) query.set("dryRun", "true");
  if (flags.staged) query.set("staged", flags.staged);
  const text = query.toString();
  return text ? `/apply?${text}` : "/apply";
}
