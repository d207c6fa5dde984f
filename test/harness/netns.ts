// Test networks made of Linux network namespaces, for the root-only fault suite (test/faults/).
//
//   const net = await createTestNetwork({ hosts: ["cloud", "edge1", "edge2"] });
//   const { address } = net.host("cloud");   // 10.231.X.1
//   Bun.spawn(net.spawnArgs("cloud", [...leveeCommand(), "cloud", "--bind-address", address]));
//   net.cut("edge1", "cloud");   // drop every frame between the two, both ways; net.heal() undoes it
//   await net.destroy();         // also done on process exit if a test forgot
//
// Layout: a "switch" namespace (named after the network) holds the bridge br0; each host gets its
// own namespace "<network>-<host>" with lo and eth0, a veth whose other end (v-<host>) is a port of
// br0. Every link is created directly inside these namespaces, so the host's own network stack is
// never touched, interface names cannot collide between runs, and deleting the namespaces removes
// every link and nftables table with them. Hosts get 10.231.X.(i+1)/24 on eth0 and no route
// beyond that /24: traffic cannot leave the namespaces.
//
// Faults are nftables rules in two places, chosen because both work on a stock kernel:
// - cut/heal, isolate/rejoin: a `bridge` family table in the switch namespace whose forward chain
//   drops frames by bridge port (iifname/oifname). That is a pulled cable: ARP, IPv4 and IPv6 all
//   stop, nothing is rejected (open TCP connections stall, as on a real network), and the hosts'
//   namespaces stay pristine. It needs no bridge conntrack (CONFIG_NF_CONNTRACK_BRIDGE is often off).
// - forbid/allow (NAT-like): needs connection tracking, so it is an `inet` table in the target
//   host's namespace dropping `ct state new` from the other host: replies to connections the
//   target opened still get in, new connections towards it do not.
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, statSync } from "node:fs";

const HOST_NAME = /^[a-z][a-z0-9]{0,9}$/;
/** Network names: lvt-<creator pid in base 36>-<4 hex>, so stale ones can be found and swept. */
const NETWORK_NAME = /^lvt-([0-9a-z]+)-[0-9a-f]{4}(?:-[a-z0-9]+)?$/;

const SWITCH_RULES = `table bridge levee {
  set cut { type ifname . ifname; }
  set isolated { type ifname; }
  chain forward {
    type filter hook forward priority filter; policy accept;
    iifname . oifname @cut drop
    iifname @isolated drop
    oifname @isolated drop
  }
}
`;
const HOST_RULES = `table inet levee {
  set forbidden { type ipv4_addr; }
  chain input {
    type filter hook input priority filter; policy accept;
    ip saddr @forbidden ct state new drop
  }
}
`;
// Runs inside a namespace: GET argv[-2] with a timeout of argv[-1] ms, one JSON line on stdout.
const PROBE = `const [url, ms] = process.argv.slice(-2);
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(Number(ms)) });
  console.log(JSON.stringify({ ok: true, status: res.status, body: await res.text() }));
} catch (err) {
  console.log(JSON.stringify({ ok: false, error: String(err?.message ?? err) }));
}`;

export interface TestHost {
  name: string;
  /** Network namespace, for `ip netns exec` / `ip -n`. */
  namespace: string;
  /** IPv4 address on eth0, e.g. 10.231.7.2 */
  address: string;
}

export type HttpProbe = { ok: true; status: number; body: string } | { ok: false; error: string };

export interface TestNetwork {
  /** Also the name of the switch namespace. */
  name: string;
  /** e.g. "10.231.7.0/24" */
  subnet: string;
  hosts: TestHost[];
  host(name: string): TestHost;
  /** `ip netns exec <ns> ...argv`: hand it to Bun.spawn (or launchAgent's command) to run inside. */
  spawnArgs(host: string, argv: string[]): string[];
  /** Runs argv inside the host's namespace; throws with the command and its stderr on failure. */
  exec(host: string, argv: string[], options?: ExecOptions): Promise<{ stdout: string; stderr: string }>;
  /** HTTP GET from inside the host's namespace; never throws for network errors. */
  probe(host: string, url: string, timeoutMs?: number): Promise<HttpProbe>;
  /** Drops all traffic between a and b, both ways. Idempotent, like the others. */
  cut(a: string, b: string): void;
  heal(a: string, b: string): void;
  /** Drops all traffic between the host and everyone. */
  isolate(host: string): void;
  rejoin(host: string): void;
  /** NAT-like: `from` can no longer open connections to `to`; `to` can still connect to `from`. */
  forbid(from: string, to: string): void;
  allow(from: string, to: string): void;
  /** Kills what still runs inside and deletes every namespace. Idempotent. */
  destroy(): Promise<void>;
}

export interface ExecOptions {
  /** SIGKILL after this long (default 30 s). */
  timeoutMs?: number;
  env?: Record<string, string | undefined>;
}

export interface TestNetworkOptions {
  hosts: string[];
  /** X in 10.231.X.0/24; random by default (namespaces are isolated, so clashes are harmless). */
  subnetIndex?: number;
}

function commandError(argv: string[], status: string, stderr: string): Error {
  const command = argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(" ");
  return new Error(`command failed (${status}): ${command}\n${stderr.trim()}`);
}

/** Runs a command to completion; returns stdout or throws with the command and its stderr. */
export function run(argv: string[], input?: string): string {
  const result = Bun.spawnSync(argv, {
    stdin: input === undefined ? "ignore" : new TextEncoder().encode(input),
    stdout: "pipe",
    stderr: "pipe",
  });
  if (!result.success) {
    const status = result.signalCode ? `signal ${result.signalCode}` : `exit ${result.exitCode}`;
    throw commandError(argv, status, result.stderr.toString());
  }
  return result.stdout.toString();
}

/** The environment minus http_proxy & co: a proxy outside the namespaces is unreachable from them. */
export function withoutProxy(env: Record<string, string | undefined>): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(env).filter(([key]) => !/^(https?|all|no)_proxy$/i.test(key)));
}

const nsExec = (ns: string, argv: string[]) => ["ip", "netns", "exec", ns, ...argv];

/** SIGKILLs every process whose network namespace has one of these inodes (like `ip netns pids`). */
function killInside(inodes: Set<number>): void {
  if (inodes.size === 0) return;
  for (const pid of readdirSync("/proc")) {
    try {
      if (/^\d+$/.test(pid) && inodes.has(statSync(`/proc/${pid}/ns/net`).ino))
        process.kill(Number(pid), "SIGKILL");
    } catch {} // gone meanwhile
  }
}

/**
 * Kills what runs inside the namespaces, deletes them, then kills again: an `ip netns exec` that
 * had opened a namespace just before could still enter it. Those already gone are skipped.
 */
function deleteNamespaces(names: string[]): void {
  const present = names.filter((ns) => existsSync(`/run/netns/${ns}`));
  const inodes = new Set(present.map((ns) => statSync(`/run/netns/${ns}`).ino));
  killInside(inodes);
  for (const ns of present) run(["ip", "netns", "del", ns]);
  killInside(inodes);
}

// Cleanup when a test forgets destroy(): an 'exit' listener (runs under `bun run`, but `bun test`
// skips exit listeners), and a janitor child that waits for this process to die however it dies
// (even SIGKILL: its stdin pipe closes) and then deletes every namespace named after our pid.
const live = new Set<{ destroySync(): void }>();
let janitor: Bun.Subprocess | undefined;
const OWN_PREFIX = `lvt-${process.pid.toString(36)}-`;
const JANITOR = `for (const s of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(s, () => {});
for await (const _ of Bun.stdin.stream());
const { removeNetworks } = await import(process.argv.at(-2));
removeNetworks((ns) => ns.startsWith(process.argv.at(-1)));`;

function installCleanup(): void {
  if (janitor) return;
  process.on("exit", () => {
    for (const net of live) {
      try {
        net.destroySync();
      } catch (err) {
        process.stderr.write(`netns cleanup: ${(err as Error).message}\n`);
      }
    }
  });
  const argv = [process.execPath, "-e", JANITOR, "--", import.meta.path, OWN_PREFIX];
  janitor = Bun.spawn(argv, { stdin: "pipe", stdout: "ignore", stderr: "inherit" });
  janitor.unref();
}

export async function createTestNetwork(options: TestNetworkOptions): Promise<TestNetwork> {
  const names = options.hosts;
  if (names.length === 0 || names.length > 250) throw new Error("a test network needs 1 to 250 hosts");
  for (const h of names) {
    if (!HOST_NAME.test(h)) throw new Error(`host name ${JSON.stringify(h)}: use [a-z][a-z0-9]{0,9}`);
  }
  if (new Set(names).size !== names.length) throw new Error(`duplicate host names: ${names.join(", ")}`);
  const x = options.subnetIndex ?? randomBytes(1).readUInt8(0);
  const name = `${OWN_PREFIX}${randomBytes(2).toString("hex")}`;
  const hosts: TestHost[] = names.map((h, i) => ({
    name: h,
    namespace: `${name}-${h}`,
    address: `10.231.${x}.${i + 1}`,
  }));
  const byName = new Map(hosts.map((h) => [h.name, h]));
  const host = (h: string): TestHost => {
    const found = byName.get(h);
    if (!found) throw new Error(`no host ${JSON.stringify(h)} in test network ${name} (${names.join(", ")})`);
    return found;
  };
  const pair = (a: string, b: string): [TestHost, TestHost] => {
    if (a === b) throw new Error(`${a} cannot be cut from itself`);
    return [host(a), host(b)];
  };
  // Every fault is one element of an nftables set; `active` remembers which are in, so that each
  // call is idempotent (nft 1.0.6 has no "delete if present").
  const active = new Set<string>();
  const hostTables = new Set<string>();
  const setElement = (on: boolean, ns: string, family: string, set: string, element: string) => {
    const key = `${ns} ${family} ${set} ${element}`;
    if (active.has(key) === on) return;
    run(nsExec(ns, ["nft", on ? "add" : "delete", "element", family, "levee", set, `{ ${element} }`]));
    if (on) active.add(key);
    else active.delete(key);
  };
  const link = (on: boolean, a: string, b: string) => {
    const [p, q] = pair(a, b)
      .map((h) => `"v-${h.name}"`)
      .sort(); // sorted: cut(a, b) is cut(b, a)
    setElement(on, name, "bridge", "cut", `${p} . ${q}, ${q} . ${p}`);
  };
  const nat = (on: boolean, from: string, to: string) => {
    const [src, dst] = pair(from, to);
    if (on && !hostTables.has(dst.name)) {
      run(nsExec(dst.namespace, ["nft", "-f", "-"]), HOST_RULES);
      hostTables.add(dst.name);
    }
    if (hostTables.has(dst.name)) setElement(on, dst.namespace, "inet", "forbidden", src.address);
  };

  const net = {
    name,
    subnet: `10.231.${x}.0/24`,
    hosts,
    host,
    spawnArgs: (h: string, argv: string[]) => nsExec(host(h).namespace, argv),
    async exec(h: string, argv: string[], options: ExecOptions = {}) {
      const full = nsExec(host(h).namespace, argv);
      const env = options.env ?? process.env;
      const proc = Bun.spawn(full, { env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
      const timer = setTimeout(() => proc.kill("SIGKILL"), options.timeoutMs ?? 30_000);
      const [code, stdout, stderr] = await Promise.all([
        proc.exited,
        new Response(proc.stdout).text(),
        new Response(proc.stderr).text(),
      ]);
      clearTimeout(timer);
      const status = proc.signalCode ? `signal ${proc.signalCode}` : `exit ${code}`;
      if (code !== 0) throw commandError(full, status, stderr);
      return { stdout, stderr };
    },
    async probe(h: string, url: string, timeoutMs = 2000): Promise<HttpProbe> {
      const argv = [process.execPath, "-e", PROBE, "--", url, String(timeoutMs)];
      const { stdout } = await net.exec(h, argv, {
        timeoutMs: timeoutMs + 10_000,
        env: withoutProxy(process.env),
      });
      return JSON.parse(stdout.trim()) as HttpProbe;
    },
    cut: (a: string, b: string) => link(true, a, b),
    heal: (a: string, b: string) => link(false, a, b),
    isolate: (h: string) => setElement(true, name, "bridge", "isolated", `"v-${host(h).name}"`),
    rejoin: (h: string) => setElement(false, name, "bridge", "isolated", `"v-${host(h).name}"`),
    forbid: (from: string, to: string) => nat(true, from, to),
    allow: (from: string, to: string) => nat(false, from, to),
    destroySync() {
      // Hosts first: their eth0 ends take the v-* ports of the bridge with them.
      deleteNamespaces([...hosts.map((h) => h.namespace), name]);
      live.delete(net);
    },
    async destroy() {
      net.destroySync();
    },
  };

  installCleanup();
  live.add(net);
  try {
    for (const ns of [name, ...hosts.map((h) => h.namespace)]) run(["ip", "netns", "add", ns]);
    // `ip -batch` runs one command a line and stops (and says which line) at the first failure.
    const switchSetup = ["link set lo up", "link add br0 type bridge stp_state 0", "link set br0 up"];
    for (const h of hosts) {
      switchSetup.push(`link add v-${h.name} type veth peer name eth0 netns ${h.namespace}`);
      switchSetup.push(`link set v-${h.name} master br0 up`);
    }
    run(["ip", "-n", name, "-batch", "-"], `${switchSetup.join("\n")}\n`);
    for (const h of hosts) {
      const setup = ["link set lo up", `addr add ${h.address}/24 dev eth0`, "link set eth0 up"];
      run(["ip", "-n", h.namespace, "-batch", "-"], `${setup.join("\n")}\n`);
    }
    run(nsExec(name, ["nft", "-f", "-"]), SWITCH_RULES);
  } catch (err) {
    net.destroySync();
    throw err;
  }
  return net;
}

/** Deletes (after killing what runs inside) the test networks' namespaces that match. */
export function removeNetworks(match: (ns: string, creatorPid: number) => boolean): string[] {
  if (!existsSync("/run/netns")) return [];
  const removed = run(["ip", "netns", "list"])
    .split("\n")
    .map((line) => line.split(" ")[0] ?? "")
    .filter((ns) => {
      const pid = NETWORK_NAME.exec(ns)?.[1];
      return pid !== undefined && match(ns, Number.parseInt(pid, 36));
    });
  deleteNamespaces(removed);
  return removed;
}

/** Deletes test networks whose creating process is gone (say a janitor was killed too). */
export function sweepStaleNetworks(): string[] {
  return removeNetworks((_, pid) => {
    try {
      process.kill(pid, 0);
      return false; // alive
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === "ESRCH";
    }
  });
}

export type Availability = { ok: true } | { ok: false; why: string };
let availability: Availability | undefined;

/** Whether this machine can run the fault suite: root, ip, nft, and namespaces with nftables. */
export function faultSuiteAvailable(): Availability {
  availability ??= checkAvailability();
  return availability;
}

function checkAvailability(): Availability {
  if (process.getuid?.() !== 0) return { ok: false, why: "the fault suite needs root (network namespaces)" };
  for (const tool of ["ip", "nft"]) {
    if (!Bun.which(tool)) return { ok: false, why: `${tool} is not installed (Debian: iproute2, nftables)` };
  }
  const ns = `${OWN_PREFIX}${randomBytes(2).toString("hex")}-check`;
  try {
    run(["ip", "netns", "add", ns]);
    run(nsExec(ns, ["nft", "-f", "-"]), SWITCH_RULES + HOST_RULES);
    return { ok: true };
  } catch (err) {
    return { ok: false, why: `network namespaces with nftables do not work here: ${(err as Error).message}` };
  } finally {
    try {
      deleteNamespaces([ns]);
    } catch {}
  }
}
