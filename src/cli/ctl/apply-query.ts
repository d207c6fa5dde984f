// The query of POST /api/v1/apply as `levee ctl apply`, `apply --dry-run` and `diff` send it: one
// place that turns their flags into it, so a dry run asks about the same apply.

export interface ApplyFlags {
  dryRun?: boolean;
  /** --staged MODE: the staging the cloud gives the file's Services that choose none. */
  staged?: string | undefined;
}

/** "", `?dryRun=true`, `?staged=all-nodes`, or both. */
export function applyQuery(flags: ApplyFlags): string {
  const query = new URLSearchParams();
  if (flags.dryRun) query.set("dryRun", "true");
  if (flags.staged) query.set("staged", flags.staged);
  const text = query.toString();
  return text ? `?${text}` : "";
}
