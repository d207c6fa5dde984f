// The nftables ruleset of the fast path (pure): one table of this agent's own, rebuilt whole in one
// `nft -f -` transaction (add table, delete table, then the table), so the kernel holds either the
// old rules or the new ones, never a mix, and nothing the state no longer implies survives a
// rebuild. For each fast route (plan.ts), TCP connections to the service port on the node's
// addresses are sent to the worker's port on 127.0.0.1:
//   prerouting (nat)   connections from other hosts (needs net.ipv4.conf.all.route_localnet=1,
//                      which the runner sets; the guard below keeps it from exposing loopback);
//   output (nat)       connections from local processes, to 127.0.0.1 or the node's addresses;
//   input (filter)     the guard: a packet for 127.0.0.0/8 from another interface that our DNAT
//                      did not translate is dropped (what kube-proxy does for the same sysctl);
//                      and the bytes clients send to the workers;
//   output (filter)    the bytes the workers send back.
// Named counters per route, by service port: conns-P (the nat rules see one packet per
// connection: packets = connections), to-worker-P and from-worker-P (bytes). A rebuild carries the
// counters' values over (`counters`), so a route change elsewhere does not reset them.
import { type AddressMatch, type FastRoute, kernelBalance } from "./plan.ts";

export interface CounterValue {
  packets: number;
  bytes: number;
}

export interface RulesetInput {
  /** The table's name (family inet). */
  table: string;
  routes: readonly FastRoute[];
  match: AddressMatch;
  /** Counter values to start from (the table's counters before the rebuild), by name. */
  counters?: ReadonlyMap<string, CounterValue>;
}

/** Runs before the usual dstnat (-100), so ours decides before other software's DNAT. */
const NAT_PRIORITY = -110;

export const counterNames = (port: number) => ({
  connections: `conns-${port}`,
  toWorker: `to-worker-${port}`,
  fromWorker: `from-worker-${port}`,
});

/** The transaction that removes the table (and does not fail when there is none). */
export function removalScript(table: string): string {
  return `add table inet ${table}\ndelete table inet ${table}\n`;
}

/** The transaction that makes the table exactly this ruleset (no routes: no table). */
export function fastPathRuleset(input: RulesetInput): string {
  const { table, routes } = input;
  if (routes.length === 0) return removalScript(table);
  const lines: string[] = [];
  const daddr = input.match.kind === "local" ? "fib daddr type local" : `ip daddr ${input.match.address}`;
  const counters: string[] = [];
  const natRules: string[] = [];
  const toWorker: string[] = [];
  const fromWorker: string[] = [];
  for (const route of routes) {
    const names = counterNames(route.port);
    for (const name of [names.connections, names.toWorker, names.fromWorker]) {
      const value = input.counters?.get(name);
      const start = value ? ` packets ${whole(value.packets)} bytes ${whole(value.bytes)}` : "";
      counters.push(`  counter ${name} {${start} }`);
    }
    natRules.push(
      `meta nfproto ipv4 tcp dport ${route.port} ${daddr} counter name "${names.connections}" ${dnat(route)}${comment(route.service)}`,
    );
    const ports = setOf(route.workers.map((w) => w.port));
    const flow = `meta l4proto tcp ct status dnat ct original proto-dst ${route.port}`;
    toWorker.push(
      `${flow} ct direction original ip daddr 127.0.0.1 tcp dport ${ports} counter name "${names.toWorker}"`,
    );
    fromWorker.push(
      `${flow} ct direction reply ip saddr 127.0.0.1 tcp sport ${ports} counter name "${names.fromWorker}"`,
    );
  }
  lines.push(`add table inet ${table}`, `delete table inet ${table}`, `table inet ${table} {`);
  lines.push(...counters);
  lines.push(...chain("nat-prerouting", `type nat hook prerouting priority ${NAT_PRIORITY}`, natRules));
  lines.push(...chain("nat-output", `type nat hook output priority ${NAT_PRIORITY}`, natRules));
  const guard = `iifname != "lo" ip daddr 127.0.0.0/8 ct status & dnat != dnat drop`;
  lines.push(...chain("filter-input", "type filter hook input priority 0", [guard, ...toWorker]));
  lines.push(...chain("filter-output", "type filter hook output priority 0", fromWorker));
  lines.push("}");
  return `${lines.join("\n")}\n`;
}

function chain(name: string, hook: string, rules: string[]): string[] {
  return [`  chain ${name} {`, `    ${hook}; policy accept;`, ...rules.map((r) => `    ${r}`), "  }"];
}

function dnat(route: FastRoute): string {
  const [first] = route.workers;
  if (route.workers.length === 1 && first) return `dnat ip to 127.0.0.1:${first.port}`;
  const entries = route.workers.map((w, i) => `${i} : ${w.port}`).join(", ");
  const n = route.workers.length;
  return `dnat ip to 127.0.0.1 : numgen ${kernelBalance(route.balance)} mod ${n} map { ${entries} }`;
}

function setOf(values: number[]): string {
  return values.length === 1 ? String(values[0]) : `{ ${values.join(", ")} }`;
}

/** The service's name as a rule comment (names are DNS labels; anything else is left out). */
function comment(service: string): string {
  return /^[a-z0-9.-]{1,100}$/.test(service) ? ` comment "service ${service}"` : "";
}

function whole(n: number): number {
  return Number.isSafeInteger(n) && n >= 0 ? n : 0;
}
