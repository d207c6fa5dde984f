// Where a .cpuprofile's samples are: the functions with the most samples, by self and by total
// (a function counted once per sample however deep it recurses).
//
//   ./node_modules/.bin/bun bench/cpuprofile-top.ts FILE.cpuprofile [TOP=40] [FILTER]
//
// For profiles that `bun --cpu-prof` writes (bench/control-plane.ts --cpu-prof DIR). Bun's own
// --cpu-prof-md report appears to weigh each sample by the time to the next one, so a function
// that runs just before the process goes idle (a timer's callback) is charged with the idle time
// after it (in one profile: 11.7 s for 381 samples); here every sample counts once.
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  startTime: number;
  endTime: number;
}

const [file, topArg, filter] = process.argv.slice(2);
if (!file) {
  process.stderr.write("usage: bun bench/cpuprofile-top.ts FILE.cpuprofile [TOP] [FILTER]\n");
  process.exit(2);
}
const top = Number(topArg ?? 40);
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const root = `${process.cwd()}/`;
const label = (n: ProfileNode) => {
  const url = n.callFrame.url
    .replace(/^file:\/\//, "")
    .replace(root, "")
    .replace(/^.*node_modules\//, "");
  return `${n.callFrame.functionName || "(anonymous)"} ${url}:${n.callFrame.lineNumber + 1}`;
};
const self = new Map<string, number>();
const total = new Map<string, number>();
let counted = 0;
for (const id of profile.samples) {
  const node = byId.get(id);
  if (!node || /^\((idle|program|root|garbage collector)\)/.test(node.callFrame.functionName)) continue;
  counted++;
  const key = label(node);
  self.set(key, (self.get(key) ?? 0) + 1);
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const at = byId.get(cur);
    if (!at) break;
    const k = label(at);
    if (seen.has(k)) continue;
    seen.add(k);
    total.set(k, (total.get(k) ?? 0) + 1);
  }
}
console.log(`${counted} samples over ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s`);
for (const [title, map] of [
  ["self", self],
  ["total", total],
] as const) {
  console.log(`\n${title}:`);
  [...map.entries()]
    .filter(([k]) => !filter || k.includes(filter))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .forEach(([k, v]) => {
      console.log(`${String(v).padStart(7)} ${((100 * v) / counted).toFixed(1).padStart(5)} %  ${k}`);
    });
}
