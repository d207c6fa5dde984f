// User and group names → numeric ids, from /etc/passwd and /etc/group (what getpwnam does for
// local accounts; Bun has no binding for it). Numeric ids pass through unchanged.
import { readFileSync } from "node:fs";

export interface ResolvedIds {
  uid?: number | undefined;
  gid?: number | undefined;
}

/** Resolves template user/group; a problem is returned as a message naming the field and value. */
export function resolveIds(
  user: string | number | undefined,
  group: string | number | undefined,
  files: { passwd?: string; group?: string } = {},
): ResolvedIds | { error: string } {
  const out: ResolvedIds = {};
  if (user !== undefined) {
    const entry = lookup(files.passwd ?? "/etc/passwd", user);
    if (entry === undefined)
      return { error: `user ${JSON.stringify(String(user))} does not exist on this node` };
    out.uid = entry.id;
    // Like `su`: the user's primary group unless a group is given.
    if (group === undefined && entry.primaryGroup !== undefined) out.gid = entry.primaryGroup;
  }
  if (group !== undefined) {
    const entry = lookup(files.group ?? "/etc/group", group);
    if (entry === undefined)
      return { error: `group ${JSON.stringify(String(group))} does not exist on this node` };
    out.gid = entry.id;
  }
  return out;
}

function lookup(file: string, nameOrId: string | number): { id: number; primaryGroup?: number } | undefined {
  if (typeof nameOrId === "number" || /^\d+$/.test(nameOrId)) return { id: Number(nameOrId) };
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
  for (const line of text.split("\n")) {
    const fields = line.split(":");
    if (fields[0] !== nameOrId || fields.length < 3) continue;
    const id = Number(fields[2]);
    if (!Number.isInteger(id)) return undefined;
    const primary = fields.length >= 4 ? Number(fields[3]) : Number.NaN;
    return Number.isInteger(primary) ? { id, primaryGroup: primary } : { id };
  }
  return undefined;
}
