// The fast path's I/O: runs `nft` (a ruleset transaction on stdin, the counters as JSON) and the
// one sysctl the rules need. Connections from other hosts are sent to 127.0.0.1, which the kernel
// accepts from another interface only with net.ipv4.conf.all.route_localnet=1; the table's guard
// rule (ruleset.ts) drops whatever else would then reach loopback. When levee turns the sysctl on,
// it leaves a marker (/run/levee/route-localnet), and turns it off again when its last table goes
// (removeFastPathTables: the fast path switched off, `levee uninstall`).
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { describeError } from "../../runtime/errors.ts";
import { MAX_COUNTER_OUTPUT, parseCounters } from "./counters.ts";
import { type CounterValue, removalScript } from "./ruleset.ts";

/** What the fast path needs of nftables (a fake in tests). */
export interface NftRunner {
  /** Runs one transaction; rejects with nft's message. */
  apply(script: string): Promise<void>;
  /** The named counters of `table` (empty when there is no such table). */
  counters(table: string): Promise<Map<string, CounterValue>>;
  /** Lets the kernel route connections from other hosts to 127.0.0.1 (before a non-empty table). */
  allowLoopbackDnat(): void;
}

const ROUTE_LOCALNET = "/proc/sys/net/ipv4/conf/all/route_localnet";
const MARKER = "/run/levee/route-localnet";
const TIMEOUT_MS = 5000;

/** The fast path's tables are named levee-<mode>-<node>. */
export const TABLE_PREFIX = "levee-";

export function tableName(mode: string, node: string): string {
  return `${TABLE_PREFIX}${mode}-${node}`.slice(0, 200);
}

export function systemNft(command = "nft"): NftRunner {
  return {
    async apply(script) {
      const result = await run([command, "-f", "-"], script);
      if (result.code !== 0) throw new Error(firstLines(result.stderr) || `nft exited with ${result.code}`);
    },
    async counters(table) {
      const result = await run([command, "-j", "list", "counters", "table", "inet", table]);
      if (result.code !== 0) return new Map();
      return parseCounters(result.stdout, table);
    },
    allowLoopbackDnat() {
      try {
        if (readFileSync(ROUTE_LOCALNET, "utf8").trim() === "1") return;
        writeFileSync(ROUTE_LOCALNET, "1");
        mkdirSync(dirname(MARKER), { recursive: true });
        writeFileSync(MARKER, "levee turned net.ipv4.conf.all.route_localnet on for its fast path\n");
      } catch {
        // Without it, connections from other hosts fail over to nothing: the caller checks.
      }
    },
  };
}

/** The fast path's tables on this host (`levee-*`, family inet). */
export async function listFastPathTables(command = "nft"): Promise<string[]> {
  const result = await run([command, "-j", "list", "tables", "inet"]);
  if (result.code !== 0) return [];
  try {
    const items = (JSON.parse(result.stdout.slice(0, MAX_COUNTER_OUTPUT)) as { nftables?: unknown[] })
      .nftables;
    return (items ?? []).flatMap((item) => {
      const name = (item as { table?: { name?: unknown } }).table?.name;
      return typeof name === "string" && name.startsWith(TABLE_PREFIX) ? [name] : [];
    });
  } catch {
    return [];
  }
}

/**
 * Removes the given fast-path tables (those whose name starts with one of `prefixes`), and the
 * route_localnet sysctl levee turned on once none is left. What it did, for the caller to say.
 */
export async function removeFastPathTables(prefixes: string[], command = "nft"): Promise<string[]> {
  const done: string[] = [];
  const tables = await listFastPathTables(command);
  for (const table of tables.filter((t) => prefixes.some((p) => t.startsWith(p)))) {
    const result = await run([command, "-f", "-"], removalScript(table));
    if (result.code === 0) done.push(`removed nftables table inet ${table}`);
  }
  if ((await listFastPathTables(command)).length === 0 && existsSync(MARKER)) {
    try {
      writeFileSync(ROUTE_LOCALNET, "0");
      rmSync(MARKER, { force: true });
      done.push("turned net.ipv4.conf.all.route_localnet off again");
    } catch {}
  }
  return done;
}

async function run(
  argv: string[],
  stdin?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  let child: ReturnType<typeof Bun.spawn>;
  try {
    child = Bun.spawn(argv, {
      stdin: stdin === undefined ? "ignore" : new TextEncoder().encode(stdin),
      stdout: "pipe",
      stderr: "pipe",
      timeout: TIMEOUT_MS,
    });
  } catch (err) {
    return { code: -1, stdout: "", stderr: `cannot run ${argv[0]}: ${describeError(err)}` };
  }
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout as ReadableStream).text(),
    new Response(child.stderr as ReadableStream).text(),
    child.exited,
  ]);
  return { code, stdout: stdout.slice(0, MAX_COUNTER_OUTPUT), stderr };
}

function firstLines(text: string): string {
  return text.trim().split("\n").slice(0, 3).join(" / ").slice(0, 500);
}
