// The "look inside" commands `levee demo` prints once the pipeline runs (pure): how to call levee
// (the compiled binary, or `npm run levee --` in the source tree), with the demo's data dir; and
// the web dashboard: its address and how to log in (the admin token, in the cloud's data dir).
import { join, relative } from "node:path";

export interface HintInput {
  /** How to run levee, e.g. "levee", "/opt/levee-linux-x64" or "npm run levee --". */
  levee: string;
  /** The cloud's data dir (for --data-dir). */
  cloudDataDir: string;
  cloudAddress: string;
  /** Name and address of the first edge, if any. */
  edge?: { name: string; address: string };
  distributorUrl?: string;
  cwd: string;
}

export function lookInside(input: HintInput): string[] {
  const dir = shortPath(input.cloudDataDir, input.cwd);
  const ctl = `${input.levee} ctl --data-dir ${dir}`;
  const lines = [
    "Look inside (in another terminal):",
    `  ${ctl} get nodes`,
    `  ${ctl} get workers`,
    `  ${ctl} logs processor --node cloud --tail 20`,
  ];
  const curls: [string, string][] = [];
  if (input.edge) {
    const agent = `http://${input.edge.address}:7401`;
    curls.push(
      [`${agent}/v1/catalog`, `${input.edge.name}'s view: nodes, services, ready workers`],
      [`${agent}/v1/routes/processor`, `${input.edge.name}'s mesh routes for the processor`],
    );
  }
  curls.push([`http://${input.cloudAddress}:7401/v1/services/processor`, "where the processor runs"]);
  if (input.distributorUrl) curls.push([input.distributorUrl, "the distributor's numbers (JSON)"]);
  const width = Math.max(...curls.map(([url]) => url.length));
  for (const [url, what] of curls) lines.push(`  curl ${url.padEnd(width)}   # ${what}`);
  return lines;
}

/** Where the web dashboard is and how to log in: with the admin token the cloud wrote to its data dir. */
export function dashboardHint(input: Pick<HintInput, "cloudDataDir" | "cloudAddress" | "cwd">): string[] {
  const token = join(shortPath(input.cloudDataDir, input.cwd), "admin.token");
  return [
    `  dashboard: http://${input.cloudAddress}:7400/ui (map, services, traffic, events, worker logs)`,
    `    log in with the admin token: cat ${token}`,
  ];
}

/** A path relative to cwd when it lies inside it, else as it is. */
function shortPath(path: string, cwd: string): string {
  if (cwd === "/") return path;
  const rel = relative(cwd, path);
  return rel && !rel.startsWith("..") ? rel : path;
}
